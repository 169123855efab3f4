import json

from torch_gaunt.cli import main


def test_bench_sh_writes_report(tmp_path, capsys):
    assert main(["bench", "sh", "--lmax", "2", "3", "--n", "1000", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "| L |" in printed and "torch-gaunt" in printed
    data = json.loads((tmp_path / "spherical_harmonics.json").read_text())
    assert [r["lmax"] for r in data["results"]] == [2, 3]
    assert all(r["torch_gaunt"] > 0 for r in data["results"])
    assert (tmp_path / "spherical_harmonics.md").read_text().startswith("# Spherical harmonics")
    assert (tmp_path / "spherical_harmonics.png").stat().st_size > 1000
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporary files
