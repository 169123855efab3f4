"""``mace_run_train`` in MACE's own environment, with the wall-clock time added to every metrics record.

Run by :mod:`torch_gaunt.bench.learning` with the Python of ``.venv-mace`` (mace-torch pins e3nn 0.4.4):

    python mace_train_worker.py --name mace --train_file train.xyz ...   (mace_run_train's own arguments)

Each line that MACE writes to ``results/<tag>_train.txt`` gets ``"wall"``: ``time.time()`` when it was written.
Nothing else about MACE's training changes.
"""

import os
import sys
import time

# e3nn 0.4.4 loads its packaged constants with torch.load, which torch >= 2.6 refuses by default
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

from mace.tools import utils  # noqa: E402

_log = utils.MetricsLogger.log


def _log_with_wall_time(self, record):
    _log(self, {**record, "wall": time.time()})


utils.MetricsLogger.log = _log_with_wall_time

from mace.cli.run_train import main  # noqa: E402

if __name__ == "__main__":
    sys.argv = ["mace_run_train", *sys.argv[1:]]
    main()
