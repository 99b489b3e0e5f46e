from pathlib import Path

import pytest

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def msci_dir():
    """Folder of the MSCI arrays; the test is skipped where they are absent."""
    if not (DATA_DIR / "full_cite_pcas_50_day_2.npy").is_file():
        pytest.skip("MSCI single-cell arrays not available")
    return DATA_DIR
