"""`python -m benchmarks [--json]`: the speed figures (benchmarks/speed.py) in one run."""

from benchmarks.speed import main

main()
