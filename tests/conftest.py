import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(params=[torch.float32, torch.float64], ids=["float32", "float64"])
def dtype(request):
    return request.param


def tol(dtype, f64=1e-10, f32=1e-5):
    """Absolute tolerance per dtype."""
    return f64 if dtype == torch.float64 else f32


class default_float64:
    """Context in which torch's default dtype is float64: e3nn builds some constants (e.g. the generators
    behind ``wigner_D``) in the default dtype, which limits it to ~1e-7 unless this is set."""

    def __enter__(self):
        self._old = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)

    def __exit__(self, *exc):
        torch.set_default_dtype(self._old)


def pytest_addoption(parser):
    parser.addoption(
        "--device", default="cpu",
        help="where tests/test_device.py computes (cpu, cuda, cuda:1, ...); it compares each result with the CPU",
    )  # fmt: skip


def pytest_configure(config):
    import argparse

    from torch_gaunt.cli._arguments import device

    try:
        device(config.getoption("--device"))
    except argparse.ArgumentTypeError as error:
        raise pytest.UsageError(f"--device: {error}") from None


@pytest.fixture(scope="session")
def device(request) -> torch.device:
    """The ``--device`` of this run (default ``cpu``)."""
    return torch.device(request.config.getoption("--device"))
