"""The command line fails politely: a user's mistake prints one line and exits 2; ``--debug`` shows the traceback;
progress bars stay out of files."""

import io
import subprocess
import sys

import pytest
import torch

from atoms_helpers import DEMO, tiny_model
from torch_gaunt._progress import progress_bar
from torch_gaunt.cli import main
from torch_gaunt.models import save_model


def _run(capsys, argv: list[str]) -> tuple[int, str]:
    """Exit status and stderr of ``torch-gaunt argv`` run in this process."""
    try:
        status = main(argv)
    except SystemExit as exit_info:  # argparse's own errors
        status = exit_info.code
    return status, capsys.readouterr().err


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mistakes")
    model = folder / "model.pt"
    save_model(model, tiny_model())
    old = folder / "old.pt"
    payload = torch.load(model, weights_only=True)
    payload["format_version"] = 1
    payload["torch_gaunt_version"] = "0.1.0"
    torch.save(payload, old)
    (folder / "garbage.xyz").write_text("garbage\n")
    (folder / "not_a_model.pt").write_text("not a model\n")
    (folder / "gold.xyz").write_text("1\nProperties=species:S:1:pos:R:3\nAu 0 0 0\n")
    (folder / "bad.yaml").write_text("a: [\n")
    (folder / "folder").mkdir()
    return folder


MISTAKES = {
    "missing training file": ("train", ["train", "--train_file", "{d}/missing.xyz", "--work_dir", "{d}/runs"], "missing.xyz: no such file"),
    "folder as training file": ("train", ["train", "--train_file", "{d}/folder", "--work_dir", "{d}/runs"], "a folder, expected a structure file"),
    "unreadable data": ("train", ["train", "--train_file", "{d}/garbage.xyz", "--work_dir", "{d}/runs"], "ase.io.read could not read it"),
    "no energies": ("train", ["train", "--train_file", "{d}/gold.xyz", "--work_dir", "{d}/runs"], "pass the right key with --energy_key"),
    "wrong energy key": ("train", ["train", "--train_file", str(DEMO), "--energy_key", "nope", "--work_dir", "{d}/runs"], "under the key 'nope'"),
    "unknown option": ("train", ["train", "--num_chanels", "8"], "unrecognized arguments: --num_chanels 8"),
    "bad option value": ("train", ["train", "--default_dtype", "float16"], "invalid choice: 'float16'"),
    "bad list option": ("train", ["train", "--radial_MLP", "[64", "--work_dir", "{d}/runs"], "expected a list such as"),
    "bad YAML": ("train", ["train", "--config", "{d}/bad.yaml"], "is not valid YAML"),
    "bad device": ("train", ["train", "--device", "gpu"], "expected a device such as cpu, cuda"),
    "distributed without torchrun": ("train", ["train", "--train_file", str(DEMO), "--work_dir", "{d}/runs", "--distributed"], "torchrun"),
    "unknown command": (None, ["trian"], "invalid choice: 'trian'"),
    "unknown benchmark option": ("bench tp", ["bench", "tp", "--bogus"], "unrecognized arguments: --bogus"),
    "missing required option": ("evaluate", ["evaluate", "--model", "{d}/model.pt"], "the following arguments are required"),
    "missing structures": ("evaluate", ["evaluate", "--model", "{d}/model.pt", "--configs", "{d}/missing.xyz", "--output", "{d}/o.xyz"], "no such file"),
    "unknown element": ("evaluate", ["evaluate", "--model", "{d}/model.pt", "--configs", "{d}/gold.xyz", "--output", "{d}/o.xyz"], "['Au'] are not among the model's elements"),
    "not a model file": ("md", ["md", "--model", "{d}/not_a_model.pt", "--structure", str(DEMO)], "is not a torch-gaunt model file"),
    "model of another version": ("md", ["md", "--model", "{d}/old.pt", "--structure", str(DEMO)], "written by torch-gaunt 0.1.0 in format 1"),
    "unknown element in md": ("md", ["md", "--model", "{d}/model.pt", "--structure", "{d}/gold.xyz", "--trajectory", "{d}/md.xyz"], "['Au'] are not among"),
    "missing model to export": ("export", ["export", "--model", "{d}/missing.pt", "--output", "{d}/x.pt2"], "does not exist"),
}  # fmt: skip


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_mistakes_print_one_line_and_exit_2(mistake, files, capsys, monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    command, argv, expected = MISTAKES[mistake]
    status, err = _run(capsys, [word.format(d=files) for word in argv])
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    prog = "torch-gaunt" + (f" {command}" if command else "")
    assert lines[0].startswith(f"{prog}: error: "), lines[0]
    assert expected in lines[0]


def test_debug_shows_the_traceback(files, capsys):
    with pytest.raises(FileNotFoundError, match="no such file"):
        main(["train", "--train_file", str(files / "missing.xyz"), "--work_dir", str(files / "runs"), "--debug"])
    with pytest.raises(ValueError, match="format 1"):
        main(["--debug", "md", "--model", str(files / "old.pt"), "--structure", str(DEMO)])


def test_installed_command_prints_no_traceback(files):
    result = subprocess.run(
        [sys.executable, "-m", "torch_gaunt.cli", "evaluate", "--model", str(files / "not_a_model.pt"),
         "--configs", str(DEMO), "--output", str(files / "o.xyz")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"torch-gaunt evaluate: error: model file: {files / 'not_a_model.pt'} is not a torch-gaunt model file "
        "(torch.load could not read it: UnpicklingError)"
    ]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_bars_draw_only_on_a_terminal(terminal, monkeypatch):
    stream = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    assert list(progress_bar(range(5), desc="work", mininterval=0)) == list(range(5))
    drawn = stream.getvalue()
    if terminal:
        assert "\r" in drawn and "work" in drawn
    else:
        assert drawn == ""


def test_training_log_has_no_bar_frames(tmp_path, capfd):
    args = ["train", "--train_file", str(DEMO), "--max_train", "6", "--valid_fraction", "0.34", "--num_channels", "4",
            "--max_num_epochs", "1", "--batch_size", "3", "--work_dir", str(tmp_path), "--name", "quiet"]  # fmt: skip
    assert main(args) == 0  # --progress is on by default; stderr here is a file, not a terminal
    captured = capfd.readouterr()
    assert "\r" not in captured.err + captured.out
    assert "epoch    0" in captured.out
