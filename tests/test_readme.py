"""The README's quick start is a recipe that works: its Python blocks run, and say what they do."""

from pathlib import Path
import re

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


@pytest.mark.skipif(not README.is_file(), reason="README.md is not installed with the package")
def test_quick_start_runs_and_chooses_the_true_epsilon(capsys):
    blocks = python_blocks()
    assert len(blocks) == 3
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["search"].best_params_ == {"epsilon": 4.0}
    printed = capsys.readouterr().out
    assert "{'epsilon': 4.0}" in printed
    paths = namespace["model"].sample_trajectory(namespace["day3"], times=[4, 7], start_time=3)
    assert paths.shape == (len(namespace["day3"]), 2, 3)
    assert namespace["by_size"].best_params_["n_components"] == 1  # the truth is one Gaussian
    matrix = namespace["lineage"].transition_matrix(namespace["labels"][namespace["y"] == 0],
                                                    namespace["labels"][namespace["y"] == 1])
    assert "[[0.7 0.3 0. ]\n [0.  0.  1. ]]" in printed
    np.testing.assert_allclose(matrix, namespace["truth"].transitions, atol=0.01)
    growth, labels0 = namespace["growth"], namespace["labels"][namespace["y"] == 0]
    assert 2.9 < growth[labels0 == "B"].mean() / growth[labels0 == "A"].mean() < 3.1
    assert namespace["descendants"][namespace["labels"][namespace["y"] == 1] == "B1"].sum() < 0.01
