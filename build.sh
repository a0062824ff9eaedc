#!/usr/bin/env bash
# Build the materials (build/deck.pdf, notes, handout, exercises, solutions) from nothing on Debian 12 (run as root, or with sudo for the apt step).
# Installs what is missing: TeX Live and friends from Debian packages, Python dependencies in .venv.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES="texlive-xetex texlive-latex-recommended texlive-latex-extra texlive-pictures texlive-science
  texlive-fonts-recommended latexmk fonts-texgyre fonts-dejavu-core poppler-utils lmodern python3-venv"
need_apt=""
for tool in xelatex latexmk pdftotext; do command -v "$tool" >/dev/null || need_apt=1; done
kpsewhich pgfplots.sty siunitx.sty beamer.cls >/dev/null 2>&1 || need_apt=1
python3 -c "import ensurepip, venv" 2>/dev/null || need_apt=1
if [ -n "$need_apt" ]; then
  echo "== installing TeX Live and tools from Debian packages"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $APT_PACKAGES
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import mlsysim, pint, sympy, jinja2, matplotlib, doit, pytest, xdist, pypdf, pdfminer" 2>/dev/null; then
  echo "== installing Python dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
fi

echo "== building the materials: build/deck.pdf, notes.pdf, handout.pdf, exercises.pdf, solutions.pdf"
.venv/bin/python -m doit "$@"
echo "== done: build/deck.pdf build/notes.pdf build/handout.pdf build/exercises.pdf build/solutions.pdf"
