"""QM9 from qm9pack's CSV files: parsed and checked field by field, centred, rotated at random (seeded)."""

from __future__ import annotations

import math

import pytest
import torch

from invlearn.data import qm9, registry
from invlearn.data.files import DataError

HEADER = "XYZ_file,Index,SMILES,N_atoms,Elements,XYZ_Ang,HOMO_LUMO_gap_au,Dipole_debye\n"
METHANE = (
    "\"m1.xyz\",1,\"C\",5,\"['C','H','H','H','H']\",\"[[0.,1.,0.],[0.,0.,0.],[1.,1.4,0.],[-0.5,1.4,-0.9],"
    '[-0.5,1.4,0.9]]",0.5048,0.\n'
)
WATER = '"m3.xyz",3,"O",3,"[\'O\',\'H\',\'H\']","[[0.,0.98,0.],[0.,0.,0.],[0.93,1.2,0.]]",0.3,1.9\n'


def _folder(tmp_path, rows=(METHANE, WATER), header=HEADER):
    for i, name in enumerate(qm9.FILES):
        (tmp_path / name).write_text(header + (rows[i] if i < len(rows) else ""), encoding="utf-8")
    return tmp_path


def test_molecules_are_parsed_centred_and_rotated_by_the_seed(tmp_path):
    folder = _folder(tmp_path)
    train, test = qm9.load(1, 1, str(folder), seed=4)
    molecules = torch.cat([train.inputs, test.inputs])
    assert molecules.shape == (2, qm9.MAX_ATOMS, 3 + len(qm9.ELEMENTS) + 1)
    indices = torch.cat([train.facts["index"], test.facts["index"]])
    by_index = {int(i): m for i, m in zip(indices, molecules, strict=True)}
    methane, water = by_index[1], by_index[3]
    assert methane[:, -1].sum() == 5 and water[:, -1].sum() == 3 and torch.equal(methane[5:], torch.zeros(24, 9))
    assert torch.equal(methane[:5, 3:8].argmax(dim=1), torch.tensor([1, 0, 0, 0, 0]))  # C, then four H
    assert torch.allclose(methane[:5, :3].mean(dim=0), torch.zeros(3), atol=1e-6)  # centred
    # rotated rigidly: the O-H distance of the file (0.98 angstrom) is kept
    assert (water[0, :3] - water[1, :3]).norm() == pytest.approx(0.98, abs=1e-5)
    gaps = {int(i): float(g) for i, g in zip(indices, torch.cat([train.labels, test.labels]), strict=True)}
    assert gaps[1] == pytest.approx(0.5048 * qm9.HARTREE_EV, rel=1e-6)
    again, _ = qm9.load(1, 1, str(folder), seed=4)
    other, _ = qm9.load(1, 1, str(folder), seed=5)
    assert torch.equal(again.inputs, train.inputs) and not torch.equal(other.inputs, train.inputs)


def test_random_rotations_are_rotations_spread_over_so3():
    rotations = qm9.random_rotations(4000, torch.Generator().manual_seed(0)).double()
    assert torch.allclose(rotations @ rotations.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(4000, 3, 3),
                          atol=1e-5)  # fmt: skip
    assert torch.allclose(torch.linalg.det(rotations), torch.ones(4000, dtype=torch.float64), atol=1e-5)
    assert rotations.mean(dim=0).abs().max() < 0.05  # Haar: every entry averages 0
    angles = torch.arccos(((rotations.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2).clamp(-1, 1))
    assert angles.mean() == pytest.approx(math.pi / 2 + 2 / math.pi, abs=0.05)  # the Haar mean angle


@pytest.mark.parametrize(
    "row, message",
    [
        (METHANE.replace("\"['C'", "\"['Xe'"), "expected 5 atoms of"),
        (METHANE.replace(",5,", ",7,"), "expected 7 atoms"),
        (METHANE.replace("[0.,0.,0.]", "[0.,0.]"), "XYZ_Ang must hold 5 finite"),
        (METHANE.replace("[0.,0.,0.]", "[0.,nan,0.]"), "XYZ_Ang must hold 5 finite"),
        (METHANE.replace("[0.,0.,0.]", "[0.,1e39,0.]"), "from the molecule's centre"),  # inf in float32
        (METHANE.replace("[0.,0.,0.]", "[0.,5e3,0.]"), "from the molecule's centre"),
        (METHANE.replace("0.5048", "__import__('os')"), "not a number or a list"),
        (METHANE.replace("0.5048", "inf"), "a HOMO-LUMO gap of 'inf' hartree"),
        (METHANE.replace("0.5048", "1e39"), "a HOMO-LUMO gap of '1e39' hartree"),  # inf in float32
        (METHANE.replace("0.5048", "50"), "limit 100 eV"),
        (METHANE.replace('"m1.xyz",1,', '"m1.xyz",one,'), "Index must be an integer, got 'one'"),
        (METHANE.replace(",0.\n", "\n"), "fields, the header has"),
    ],
)
def test_crafted_rows_are_refused_with_their_file_and_line(tmp_path, row, message):
    with pytest.raises(DataError, match=message) as caught:
        qm9.load(1, 1, str(_folder(tmp_path, rows=(row, WATER))), seed=0)
    assert "qm9_part1.csv, line 2" in str(caught.value)


def test_missing_or_foreign_files_are_refused(tmp_path):
    with pytest.raises(DataError, match="qm9_part1.csv: no such file"):
        qm9.load(1, 1, str(tmp_path), seed=0)
    with pytest.raises(DataError, match="no column 'Elements'"):
        qm9.load(1, 1, str(_folder(tmp_path, header="Index,N_atoms\n")), seed=0)
    (tmp_path / qm9.FILES[0]).write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(DataError, match="not a readable CSV file"):
        qm9.load(1, 1, str(tmp_path), seed=0)
    with pytest.raises(DataError, match="more than the 2 molecules"):
        qm9.load(2, 1, str(_folder(tmp_path)), seed=0)


@pytest.mark.skipif(qm9.package_folder() is None, reason="qm9pack is not installed")
def test_the_registered_data_set_reads_qm9pack():
    train, test = registry.load("qm9", seed=0, n_train=50, n_test=20)
    assert registry.get("qm9").modality == "points" and registry.get("qm9").task == "regression"
    assert train.inputs.shape == (50, qm9.MAX_ATOMS, 9) and test.labels.shape == (20,)
    assert 1.0 < float(train.labels.min()) and float(train.labels.max()) < 20.0  # gaps in eV
