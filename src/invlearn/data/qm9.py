"""QM9 molecules (Ramakrishnan, Dral, Rupp, von Lilienfeld, Scientific Data 2014) as 3-D point sets, with their
HOMO-LUMO gap (eV) as the regression target.

Source: the CSV files ``qm9_part1.csv`` .. ``qm9_part3.csv`` of the ``qm9pack`` package (PyPI; 130,831 molecules,
installed with the ``data`` extra, read here without importing it), or the same files in a folder ``root``.
Read per molecule: ``Index``, ``N_atoms``, ``Elements`` (``['C','H',...]``), ``XYZ_Ang`` (``[[x, y, z], ...]`` in
angstrom) and ``HOMO_LUMO_gap_au`` (hartree). Every field is parsed as plain data and checked (known elements,
one finite coordinate triple per atom within :data:`MAX_COORDINATE` of the centre, a finite gap); a row that fails
names its file and line.

The documented subset: the molecules are put in one fixed random order (:data:`SUBSET_SEED`, whatever the run's
seed); the first ``n_train`` are the training set, the next ``n_test`` the test set. Each molecule is centred on the
mean of its atoms' positions and then rotated by a rotation drawn uniformly from SO(3) (Haar) with the run's seed,
in the training and the test set alike, so the right invariance is known: every rotation (the gap does not depend
on orientation). A molecule is ``(29, 3 + 5 + 1)``: coordinates, a one-hot element of :data:`ELEMENTS`, the mask
(padding rows are 0).
"""

from __future__ import annotations

import csv
import importlib.util
import math
from pathlib import Path

import torch

from invlearn._validation import shown
from invlearn.data.files import DataError
from invlearn.data.split import Split

#: The elements of QM9, in the order of the one-hot channels.
ELEMENTS = ("H", "C", "N", "O", "F")
#: The most atoms a QM9 molecule has.
MAX_ATOMS = 29
#: Hartree in electronvolts (CODATA 2018).
HARTREE_EV = 27.211386245988
#: The farthest an atom may lie from its molecule's centre, in angstrom (QM9's molecules span under 20): a
#: coordinate beyond it is a corrupt row (1e39 is finite in float64 but not in float32, where training runs).
MAX_COORDINATE = 1000.0
#: The largest HOMO-LUMO gap a row may hold, in eV (QM9's lie between about 0.2 and 17): beyond it a row is
#: corrupt (a gap of 1e39 is finite in float64 but not in float32, where training runs).
MAX_GAP_EV = 100.0
FILES = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
COLUMNS = ("Index", "N_atoms", "Elements", "XYZ_Ang", "HOMO_LUMO_gap_au")
#: The seed of the fixed order the subsets are taken from.
SUBSET_SEED = 0
#: Default sizes: a subset that trains in minutes on two CPU cores.
N_TRAIN, N_TEST = 10_000, 2_000


def package_folder() -> Path | None:
    """Where the installed ``qm9pack`` keeps its CSV files (``None`` where it is not installed)."""
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _rows(root: Path) -> list[tuple[str, int, list[str]]]:
    """Every molecule's ``(file, line, fields)``, fields in the order of :data:`COLUMNS`."""
    rows = []
    for name in FILES:
        path = root / name
        if not path.is_file():
            raise DataError(f"{path}: no such file (QM9's CSV files come with the qm9pack package: make install)")
        with path.open(newline="", encoding="utf-8", errors="strict") as handle:
            try:
                reader = csv.reader(handle)
                header = next(reader, [])
                missing = [column for column in COLUMNS if column not in header]
                if missing:
                    raise DataError(f"{path}: not a qm9pack CSV file (no column {missing[0]!r})")
                where = [header.index(column) for column in COLUMNS]
                for row in reader:
                    if len(row) != len(header):
                        fields = f"{len(row)} fields, the header has {len(header)}"
                        raise DataError(f"{path}, line {reader.line_num}: {fields}")
                    rows.append((str(path), reader.line_num, [row[i] for i in where]))
            except (UnicodeDecodeError, csv.Error) as error:
                raise DataError(f"{path}: not a readable CSV file ({error})") from None
    return rows


def _molecule(source: str, line: int, fields: list[str]) -> tuple[torch.Tensor, float, int]:
    """One molecule ``(MAX_ATOMS, 3 + len(ELEMENTS) + 1)``, its gap in eV and its index, from its checked fields."""
    index, n_atoms, elements, xyz, gap = fields
    where = f"{source}, line {line}"
    try:
        number = int(index)
    except ValueError:
        raise DataError(f"{where}: Index must be an integer, got {shown(index)}") from None
    try:
        n = int(n_atoms)
        names = [name.strip().strip("'\"") for name in elements.strip().strip("[]").split(",")]
        # "[[x, y, z], ...]" with numbers such as "0." that JSON refuses: the brackets dropped, one float per value
        values = [float(value) for value in xyz.replace("[", " ").replace("]", " ").split(",")]
        gap_ev = float(gap) * HARTREE_EV
    except ValueError:
        raise DataError(f"{where}: N_atoms, Elements, XYZ_Ang or HOMO_LUMO_gap_au is not a number or a list") from None
    if not 1 <= n <= MAX_ATOMS or len(names) != n or any(name not in ELEMENTS for name in names):
        raise DataError(f"{where}: expected {n_atoms} atoms of {ELEMENTS} (at most {MAX_ATOMS}), got {names[:5]}...")
    if xyz.count("[") != n + 1 or len(values) != 3 * n or not all(math.isfinite(v) for v in values):
        raise DataError(f"{where}: XYZ_Ang must hold {n} finite [x, y, z] triples")
    if not math.isfinite(gap_ev) or abs(gap_ev) > MAX_GAP_EV:
        raise DataError(
            f"{where}: a HOMO-LUMO gap of {shown(gap)} hartree; QM9's are a few eV (limit {MAX_GAP_EV:g} eV)"
        )
    positions = torch.tensor(values, dtype=torch.float64).view(n, 3)
    centred = positions - positions.mean(dim=0)
    if float(centred.abs().max()) > MAX_COORDINATE:
        raise DataError(
            f"{where}: an atom lies {float(centred.abs().max()):.3g} angstrom from the molecule's "
            f"centre; a QM9 molecule spans at most a few tens (limit {MAX_COORDINATE:g})"
        )
    molecule = torch.zeros(MAX_ATOMS, 3 + len(ELEMENTS) + 1)
    molecule[:n, :3] = centred.float()
    molecule[torch.arange(n), 3 + torch.tensor([ELEMENTS.index(name) for name in names])] = 1.0
    molecule[:n, -1] = 1.0
    return molecule, gap_ev, number


def random_rotations(n: int, generator: torch.Generator) -> torch.Tensor:
    """``(n, 3, 3)`` rotations drawn uniformly from SO(3): unit quaternions from normalised Gaussian 4-vectors."""
    q = torch.randn(n, 4, generator=generator, dtype=torch.float64)
    w, x, y, z = (q / q.norm(dim=1, keepdim=True)).unbind(dim=1)
    return torch.stack(
        [
            torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], dim=1),
            torch.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], dim=1),
            torch.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], dim=1),
        ],
        dim=1,
    ).float()


def _split(rows: list, generator: torch.Generator) -> Split:
    parsed = [_molecule(*row) for row in rows]
    molecules = torch.stack([m for m, _, _ in parsed]) if parsed else torch.zeros(0, MAX_ATOMS, 4 + len(ELEMENTS))
    rotations = random_rotations(len(parsed), generator)
    molecules[..., :3] = molecules[..., :3] @ rotations.transpose(1, 2)
    gaps = torch.tensor([gap for _, gap, _ in parsed], dtype=torch.float32)
    index = torch.tensor([number for _, _, number in parsed], dtype=torch.int64)
    return Split(molecules, gaps, {"rotation": rotations, "index": index, "n_atoms": molecules[..., -1].sum(dim=1)})


def load(n_train: int | None, n_test: int | None, root: str | None, seed: int) -> tuple[Split, Split]:
    """``(train, test)``: the first ``n_train`` and the next ``n_test`` molecules of the fixed order (defaults
    :data:`N_TRAIN`, :data:`N_TEST`), centred and rotated at random (``seed``); targets: the gap in eV."""
    folder = Path(root) if root is not None else package_folder()
    if folder is None:
        raise DataError("QM9 needs the qm9pack package (make install) or data.root, a folder with its CSV files")
    rows = _rows(folder)
    n_train = N_TRAIN if n_train is None else n_train
    n_test = N_TEST if n_test is None else n_test
    if n_train + n_test > len(rows):
        raise DataError(f"data.n_train + data.n_test: {n_train + n_test} is more than the {len(rows)} molecules")
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(SUBSET_SEED)).tolist()
    generator = torch.Generator().manual_seed(seed)
    train = _split([rows[i] for i in order[:n_train]], generator)
    return train, _split([rows[i] for i in order[n_train : n_train + n_test]], generator)
