"""Two builds in different directories give the same bytes: a clean one, two tasks at a time
(`doit -n 2`), and the session's own build (the repository's build/, made by `bash build.sh` and
brought up to date in a copy, one task at a time: `doit -n 1`): the order tasks ran in, the
folder, and whether the build started from nothing leave no trace in the materials.  The clean
build draws every figure afresh (MLSYSIM_FIGURE_CACHE=0: none from the user's cache), so the figures'
bytes compared are drawings, not copies of the session's."""
import subprocess
import sys

import pytest

from workflow_support import clean_env, copy_repo, doit

COMPARED = ["deck.pdf", "deck.tex", "claims.json", "ledger.html",
            "notes.pdf", "handout.pdf", "exercises.pdf", "solutions.pdf", "schedule.json"]


@pytest.fixture(scope="module")
def two_builds(module_folder):
    clean = copy_repo(module_folder / "clean" / "repo")
    session = copy_repo(module_folder / "session" / "repo", built=True)
    _commit_all(clean)  # a repository of its own, to see what the build changes (test_git_status_clean)
    procs = [subprocess.Popen([sys.executable, "-m", "doit", *args], cwd=repo,
                              env=clean_env(engine=repo / "engine", MLSYSIM_FIGURE_CACHE="0"),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
             for repo, args in ((clean, ["-n", "2"]), (session, ["-n", "1"]))]
    outputs = [p.communicate(timeout=900)[0] for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out
        # the build never regenerates the engine's derived modules (an explicit `doit derive` does)
        assert ". derive" not in out.splitlines(), out
    return clean / "build", session / "build"


def _git(repo, *args):
    return subprocess.run(["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
                          cwd=repo, capture_output=True, text=True, check=True).stdout


def _commit_all(repo):
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "the sources")


def test_git_status_clean_after_a_full_build(two_builds):
    # the build writes only under build/ (git-ignored): no tracked file changed, nothing untracked
    repo = two_builds[0].parent
    assert _git(repo, "ls-files", "engine/mlsysim/core/_derived.py").strip()  # the copy's sources are tracked
    assert (repo / "build" / "deck.pdf").exists()
    status = _git(repo, "status", "--porcelain", "--untracked-files=all")
    assert status == "", f"the build changed the source tree:\n{status}"


def _generated(build):
    """Every file the build made, except doit's state and LaTeX's working files (they hold paths)."""
    return sorted(p.relative_to(build).as_posix() for p in build.rglob("*")
                  if p.is_file() and p.relative_to(build).parts[0] != "tex" and not p.name.startswith(".doit"))


def test_same_files(two_builds):
    a, b = two_builds
    assert _generated(a) == _generated(b)
    for name in COMPARED:
        assert name in _generated(a)


@pytest.mark.parametrize("name", COMPARED)
def test_same_bytes(two_builds, name):
    a, b = two_builds
    assert (a / name).read_bytes() == (b / name).read_bytes(), f"build/{name} differs between the two builds"


def test_figures_listings_and_slides_same_bytes(two_builds):
    a, b = two_builds
    files = [f for f in _generated(a) if f.split("/")[0] in ("figures", "listings", "slides", "claims")]
    assert any(f.startswith("figures/") for f in files)
    differ = [f for f in files if (a / f).read_bytes() != (b / f).read_bytes()]
    assert differ == []


def test_a_second_run_does_nothing(two_builds):
    clean = two_builds[0].parent
    again = doit(clean)
    assert again.returncode == 0, again.stdout + again.stderr
    ran = [line for line in again.stdout.splitlines() if line.startswith(". ")]
    assert ran == [], f"a no-op build ran: {ran}"
