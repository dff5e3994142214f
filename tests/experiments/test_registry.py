"""The experiment registry: a fixed order whatever the import order of the recipes."""

import subprocess
import sys

from hdeq.experiments import registered
from hdeq.experiments._registry import EXPERIMENT_MODULES


def test_registered_order_follows_the_module_list():
    exps = registered()
    ranks = [EXPERIMENT_MODULES.index(e.run.__module__) for e in exps.values()]
    assert ranks == sorted(ranks)
    assert list(exps)[0] == "mp_density"


def test_registered_order_does_not_depend_on_import_order():
    # a fresh interpreter that imports the recipe modules in reverse order
    code = ("import importlib\n"
            "from hdeq.experiments._registry import EXPERIMENT_MODULES, registered\n"
            "for m in reversed(EXPERIMENT_MODULES): importlib.import_module(m)\n"
            "print(','.join(registered()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out.split(",") == list(registered())
