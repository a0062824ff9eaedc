"""Spec files: a wrong value is rejected with file, line, key and the expected unit."""
import re
import shutil
from pathlib import Path

import pytest

import mlsysim
from mlsysim import spec
from mlsysim.spec import SpecError

PACKAGE_SPECS = Path(mlsysim.__file__).with_name("specs")
H100_BW = 'memory_bandwidth = { value = 3.35, unit = "TB/s"'


def specs_with(tmp_path, fresh_specs, old, new, file="hardware.toml"):
    """A copy of the package's specs with one edit, made the active spec directory."""
    target = tmp_path / "specs"
    shutil.copytree(PACKAGE_SPECS, target)
    text = (target / file).read_text()
    assert old in text
    (target / file).write_text(text.replace(old, new, 1))
    fresh_specs.setenv("MLSYSIM_SPECS", str(target))
    return target / file


def line_of(path, needle):
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_wrong_dimension_names_file_line_key_and_unit(tmp_path, fresh_specs):
    path = specs_with(tmp_path, fresh_specs, H100_BW, 'memory_bandwidth = { value = 3.35, unit = "TB"')
    with pytest.raises(SpecError) as err:
        mlsysim.Hardware.Cloud.H100
    message = str(err.value)
    line = line_of(path, 'unit = "TB"')
    assert f"hardware.toml:{line}:" in message
    assert "[H100] memory_bandwidth" in message and "B/s" in message


def test_missing_field(tmp_path, fresh_specs):
    specs_with(tmp_path, fresh_specs, 'memory_capacity = { value = 80, unit = "GB"',
               'memory_capacity_typo = { value = 80, unit = "GB"')
    with pytest.raises(SpecError, match=r"hardware.toml:\d+: \[H100\] is missing memory_capacity \(expected B\)"):
        mlsysim.Hardware.Cloud.H100


@pytest.mark.parametrize("value", ["-3.35", "0", "nan", "inf"])
def test_non_positive_or_non_finite_value(tmp_path, fresh_specs, value):
    path = specs_with(tmp_path, fresh_specs, H100_BW, H100_BW.replace("3.35", value))
    with pytest.raises(SpecError) as err:
        mlsysim.Hardware.Cloud.H100
    assert re.search(rf"hardware.toml:{line_of(path, 'memory_bandwidth')}: \[H100\] memory_bandwidth", str(err.value))


def test_value_without_source(tmp_path, fresh_specs):
    specs_with(tmp_path, fresh_specs, H100_BW + ', source = "NVIDIA H100 Tensor Core GPU datasheet (SXM5): GPU memory bandwidth 3.35 TB/s" }', H100_BW + " }")
    with pytest.raises(SpecError, match="needs a source"):
        mlsysim.Hardware.Cloud.H100


def test_unknown_unit(tmp_path, fresh_specs):
    specs_with(tmp_path, fresh_specs, H100_BW, 'memory_bandwidth = { value = 3.35, unit = "TB/blorp"')
    with pytest.raises(SpecError, match="unknown unit"):
        mlsysim.Hardware.Cloud.H100


def test_count_must_be_whole(tmp_path, fresh_specs):
    specs_with(tmp_path, fresh_specs, "layers = { value = 32,", "layers = { value = 32.5,", file="models.toml")
    with pytest.raises(SpecError, match=r"models.toml:\d+: \[Llama3_8B\] layers = 32.5: must be a whole number"):
        mlsysim.Models.Language.Llama3_8B.parameters


def test_units_convert_at_the_edge(tmp_path, fresh_specs):
    # 3350 GB/s is the same bandwidth as 3.35 TB/s
    specs_with(tmp_path, fresh_specs, H100_BW, 'memory_bandwidth = { value = 3350, unit = "GB/s"')
    assert mlsysim.Hardware.Cloud.H100.si("memory_bandwidth") == pytest.approx(3.35e12)


def test_reads_are_recorded():
    hw = mlsysim.Hardware.Cloud.H100
    with spec.reading() as keys:
        mlsysim.Engine.ridge_point(hw)
    assert keys == {"hardware.H100.peak_flops", "hardware.H100.memory_bandwidth"}


def test_every_value_has_a_source():
    for path in PACKAGE_SPECS.glob("*.toml"):
        for entry in spec.load_file(path).values():
            for field in entry.fields():
                if entry._units[field] is not None:
                    assert entry.source(field), f"{path.name} [{entry.table}] {field} has no source"


def test_the_checked_spec_files_kept_in_the_cache_are_the_last_used(tmp_path, monkeypatch):
    # Each edit of a spec file leaves its checked values in the user's cache; only the SPECS_KEPT
    # most recently used stay, and a file loaded again from the cache counts as used again.
    import time

    monkeypatch.setenv("MLSYSIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(spec, "SPECS_KEPT", 3)
    text = (PACKAGE_SPECS / "costs.toml").read_text(encoding="utf-8")
    versions = []
    for n in range(4):
        path = tmp_path / f"v{n}" / "costs.toml"
        path.parent.mkdir()
        path.write_text(text + f"# version {n}\n", encoding="utf-8")
        versions.append(path)

    def load(n):
        spec.load_file(versions[n])
        time.sleep(0.05)  # file times tick in milliseconds: one load, one distinct time

    for n in (0, 1, 2):
        load(n)
    load(0)  # from the cache: used again
    load(3)  # a fourth: the least recently used (version 1) goes
    kept = {n for n, path in enumerate(versions) if spec._cache_path(path.read_text(encoding="utf-8")).exists()}
    assert kept == {0, 2, 3}
    assert len(list((tmp_path / "cache").glob("spec-*.json"))) == 3
