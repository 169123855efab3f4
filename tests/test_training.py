"""Training, exact resume after a kill, evaluation and the train/evaluate command line."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from ase.io import read

from atoms_helpers import DEMO, graph_of, molecule, tiny_model
from torch_gaunt.atoms import (
    ExponentialMovingAverage,
    TrainingSettings,
    evaluate_potential,
    prepare_data,
    train,
    weighted_loss,
)
from torch_gaunt.cli import main
from torch_gaunt.models import GauntMACE, ModelConfig, batch_graphs, load_model

TINY = [
    "--train_file", str(DEMO), "--max_train", "30", "--num_channels", "4", "--max_ell", "2", "--correlation", "2",
    "--radial_MLP", "[8]", "--batch_size", "3", "--no-progress", "--seed", "7",
]  # fmt: skip


def _demo_model(max_train: int, channels: int, radial: int):
    """The demo data (``max_train`` structures) and a small float64 model for it."""
    data = prepare_data(DEMO, 4.0, max_train=max_train, log=lambda line: None)
    torch.manual_seed(0)
    config = ModelConfig(
        atomic_numbers=data.atomic_numbers, r_max=4.0, num_channels=channels, max_ell=2, correlation=2,
        radial_mlp=[radial], e0s=[data.e0s[z] for z in data.atomic_numbers], avg_num_neighbors=8.0, shift=-4.86,
    )  # fmt: skip
    return data, GauntMACE(config).double()


def test_training_lowers_the_loss(tmp_path):
    data, model = _demo_model(max_train=20, channels=8, radial=16)
    settings = TrainingSettings(max_num_epochs=4, batch_size=2, lr=0.02)
    result = train(model, data.graphs["train"], data.graphs["valid"], settings, tmp_path, log=lambda line: None,
                   progress=False)  # fmt: skip
    losses = [r["valid_loss"] for r in result["history"]]
    assert losses[-1] < 0.5 * losses[0]
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [0, 1, 2, 3]


def test_second_stage_switches_weights_and_lr():
    s = TrainingSettings(max_num_epochs=8, swa=True, swa_lr=1e-4)
    assert [s.second_stage_due(e, 0.0) for e in (5, 6)] == [False, True]
    assert s.loss_weights(True) == (1000.0, 100.0, 10.0) and s.loss_weights(False) == (1.0, 100.0, 1.0)
    timed = TrainingSettings(max_num_epochs=100, swa=True, max_time=100.0)
    assert not timed.second_stage_due(3, 74.0) and timed.second_stage_due(3, 75.0)
    assert not TrainingSettings(swa=False).second_stage_due(99, 1e9)


def test_second_stage_lr_and_weight_decay_groups_follow_mace(tmp_path):
    """The lr at each epoch equals what MACE's scheduler gives: ReduceLROnPlateau in the first stage, then
    SWALR(swa_lr, anneal_epochs=1, linear) stepped once per epoch from the first stage-two epoch on (a jump, not a
    ramp). Only the interaction linears after the convolutions and the product bases are decayed."""
    from torch.optim.swa_utils import SWALR

    from torch_gaunt.atoms import parameter_groups

    data, model = _demo_model(max_train=10, channels=4, radial=8)
    settings = TrainingSettings(max_num_epochs=4, batch_size=5, lr=0.02, swa=True, start_swa=2, swa_lr=3e-3)
    result = train(model, data.graphs["train"], data.graphs["valid"], settings, tmp_path, log=lambda line: None,
                   progress=False)  # fmt: skip
    dummy = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.02)
    swalr = SWALR(dummy, swa_lr=3e-3, anneal_epochs=1, anneal_strategy="linear")
    expected = []
    for epoch in range(4):
        if epoch >= 2:
            dummy.step()  # (no gradients: a no-op that keeps torch from warning about the order)
            swalr.step()  # MACE steps it at the start of every stage-two epoch after the first epoch of training
        expected.append(dummy.param_groups[0]["lr"])
    assert [r["lr"] for r in result["history"]] == pytest.approx(expected)
    groups = {g["name"]: g for g in parameter_groups(model, settings)}
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = sorted(names[id(p)] for p in groups["decay"]["params"])
    assert decayed and all(n.startswith("products.") or ".linear." in n for n in decayed)
    assert any(n.startswith("products.") for n in decayed) and any(".linear." in n for n in decayed)
    assert groups["no_decay"]["weight_decay"] == 0.0 and groups["decay"]["weight_decay"] == settings.weight_decay
    assert {"embedding", "energy_offset"} <= {names[id(p)] for p in groups["no_decay"]["params"]}
    everything = parameter_groups(model, TrainingSettings(weight_decay_groups="all"))
    assert len(everything) == 1 and len(everything[0]["params"]) == len(names)


def test_ema_update_rule():
    p = torch.nn.Parameter(torch.zeros(2))
    ema = ExponentialMovingAverage([p], decay=0.99)
    with torch.no_grad():
        p.fill_(1.0)
    ema.update()  # d = min(0.99, 2 / 11)
    assert torch.allclose(ema.shadow[0], torch.full((2,), 1 - 2 / 11))
    ema.swap()
    assert torch.allclose(p, torch.full((2,), 1 - 2 / 11))
    ema.swap()
    assert torch.equal(p, torch.ones(2))


def test_weighted_loss_ignores_missing_labels():
    model = tiny_model()
    g = graph_of(molecule())
    g.forces = torch.full_like(g.forces, float("nan"))
    g.forces_weight = torch.zeros(1, dtype=torch.float64)
    g.energy = torch.tensor([-20.0], dtype=torch.float64)
    g.energy_weight = torch.ones(1, dtype=torch.float64)
    batch = batch_graphs([g])
    out = model(batch, training=True)
    loss = weighted_loss(out, batch, (1.0, 100.0, 1.0))
    expected = ((out["energy"] - batch.energy) / 7) ** 2
    assert torch.isfinite(loss) and torch.allclose(loss, expected.mean())


def _cli(args: list[str], cwd: Path, wait: bool = True):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "torch_gaunt.cli", "train", *args]
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if wait:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output
        return output
    return process


def test_resume_after_kill_gives_the_same_parameters(tmp_path):
    args = TINY + ["--max_num_epochs", "4", "--swa", "--start_swa", "2", "--work_dir", str(tmp_path)]
    _cli(args + ["--name", "straight"], tmp_path)
    process = _cli(args + ["--name", "killed"], tmp_path, wait=False)
    metrics = tmp_path / "killed" / "metrics.jsonl"
    deadline = time.time() + 240
    while not (metrics.exists() and metrics.read_text().count("\n") >= 1):
        assert process.poll() is None and time.time() < deadline, "training ended before it could be killed"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)  # inside epoch 1
    process.wait()
    done = [json.loads(line)["epoch"] for line in metrics.read_text().splitlines()]
    assert done[-1] < 3, "the run finished before the kill"
    output = _cli(args + ["--name", "killed", "--resume"], tmp_path)
    assert "resumed from" in output
    a = torch.load(tmp_path / "straight" / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "killed" / "model.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    history = [json.loads(line)["epoch"] for line in metrics.read_text().splitlines()]
    assert history == [0, 1, 2, 3]


def test_train_and_evaluate_commands(tmp_path, capsys):
    config = tmp_path / "options.yaml"
    config.write_text("max_num_epochs: 2\nnum_channels: 4\nname: from_yaml\n")
    args = TINY + ["--work_dir", str(tmp_path), "--config", str(config), "--num_channels", "6"]
    assert main(["train", *args]) == 0
    run = tmp_path / "from_yaml"
    files = ("model.pt", "checkpoint.pt", "metrics.jsonl", "log.txt", "report.md", "loss.png", "parity_valid.png")
    for name in files + ("options.yaml",):
        assert (run / name).is_file(), name
    import yaml

    options = yaml.safe_load((run / "options.yaml").read_text())
    assert options["num_channels"] == 6 and options["max_num_epochs"] == 2 and options["name"] == "from_yaml"
    model = load_model(run / "model.pt")
    assert model.config.num_channels == 6  # the command line wins over the YAML file
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *args])
    assert exit_info.value.code == 2 and "already holds a training run" in capsys.readouterr().err

    structures = tmp_path / "few.xyz"
    frames = read(DEMO, index="3:8")
    from ase.io import write

    write(structures, frames)
    out = tmp_path / "predicted.xyz"
    assert main(["evaluate", "--configs", str(structures), "--model", str(run / "model.pt"), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "E RMSE" in printed and out.with_suffix(".parity.png").is_file()
    predicted = read(out, index=":")
    table = evaluate_potential(run / "model.pt", structures, tmp_path / "again.xyz")
    graphs = [graph_of(a, model.config.r_max) for a in frames]
    direct = model(batch_graphs(graphs))
    for k, atoms in enumerate(predicted):
        assert atoms.info["gaunt_energy"] == pytest.approx(direct["energy"][k].item(), abs=1e-9)
        assert atoms.arrays["gaunt_forces"].shape == (15, 3)
        assert atoms.get_potential_energy() == pytest.approx(frames[k].get_potential_energy())
    assert table["all"]["count"] == 5 and np.isfinite(table["all"]["forces_rmse"])


def test_config_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("num_chanels: 8\n")
    with pytest.raises(SystemExit):
        main(["train", "--config", str(bad)])


def _torchrun(args: list[str], cwd: Path, processes: int = 2) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               "-m", "torch_gaunt.cli", "train", *args, "--distributed"]  # fmt: skip
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _parameters(run: Path) -> dict:
    return torch.load(run / "model.pt", weights_only=True)["state_dict"]


def test_two_processes_take_the_same_steps_as_one(tmp_path):
    # 29 structures in global batches of 4: the last batch has one structure, so one process gets none
    args = TINY + ["--max_train", "29", "--batch_size", "4", "--default_dtype", "float64", "--work_dir", str(tmp_path)]
    _cli(args + ["--name", "one", "--max_num_epochs", "1"], tmp_path)
    output = _torchrun(args + ["--name", "two", "--max_num_epochs", "1"], tmp_path)
    assert "distributed: 2 processes, backend gloo" in output
    assert output.count("epoch    0") == 1, "only rank 0 logs"
    metrics = [json.loads((tmp_path / name / "metrics.jsonl").read_text()) for name in ("one", "two")]
    for key in ("train_loss", "valid_loss"):  # Adam hides a scaled gradient; the summed loss does not
        assert metrics[1][key] == pytest.approx(metrics[0][key], rel=1e-12)
    one, two = _parameters(tmp_path / "one"), _parameters(tmp_path / "two")
    assert one.keys() == two.keys()
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=0, atol=1e-11, msg=key)
    # resume continues the same way in both
    _cli(args + ["--name", "one", "--max_num_epochs", "2", "--resume"], tmp_path)
    output = _torchrun(args + ["--name", "two", "--max_num_epochs", "2", "--resume"], tmp_path)
    assert "resumed from" in output
    one, two = _parameters(tmp_path / "one"), _parameters(tmp_path / "two")
    for key in one:
        torch.testing.assert_close(two[key], one[key], rtol=0, atol=1e-11, msg=key)
    history = [json.loads(line)["epoch"] for line in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert history == [0, 1]


def test_distributed_without_torchrun_is_a_clear_error(monkeypatch):
    for key in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    from torch_gaunt.atoms import distributed

    with pytest.raises(RuntimeError, match="torchrun"):  # the command line's one-line form: test_cli_errors.py
        distributed.init_from_environment()


def test_shard_losses_add_up_to_the_batch_loss():
    model = tiny_model()
    graphs = [graph_of(molecule(k)) for k in range(5)]
    for k, g in enumerate(graphs):
        g.energy[:] = -10.0 - k
        g.forces.normal_()
        g.energy_weight[:], g.forces_weight[:] = 1.0, 1.0
    whole = batch_graphs(graphs)
    full = weighted_loss(model(whole, training=True), whole, (1.0, 10.0, 1.0))
    totals = (5, int(whole.positions.shape[0]))
    parts = [batch_graphs(graphs[:2]), batch_graphs(graphs[2:])]
    summed = sum(weighted_loss(model(p, training=True), p, (1.0, 10.0, 1.0), totals) for p in parts)
    torch.testing.assert_close(summed, full, rtol=1e-12, atol=0)
