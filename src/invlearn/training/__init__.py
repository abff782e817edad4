"""Training glue (optional extra ``train``): configurations, the Lightning task and run directories."""
