"""The build's progress lines: doit's own (".  task" when a task starts), and with
``MLSYSIM_TIMINGS=1`` each task's wall time when it ends, which is how `benchmarks/run.py`
tells where an author's wait goes."""
from __future__ import annotations

import os
import time

from doit.reporter import ConsoleReporter


class TimedReporter(ConsoleReporter):
    desc = "console output, with each task's wall time when MLSYSIM_TIMINGS=1"
    #: The file by which one run's tasks agree which reports its error (build.reporter names it).
    error_marker: str | None = None

    def __init__(self, outstream, options):
        super().__init__(outstream, options)
        self.timed = os.environ.get("MLSYSIM_TIMINGS") == "1"
        self.started: dict[str, float] = {}
        if self.error_marker:  # a run starts: its worker processes inherit the name, and no error yet
            from .build import ERROR_MARKER

            os.environ[ERROR_MARKER] = self.error_marker
            try:
                os.unlink(self.error_marker)
            except OSError:
                pass

    def execute_task(self, task):
        self.started[task.name] = time.perf_counter()
        super().execute_task(task)

    def complete_run(self):
        from .build import ERROR_MARKER  # the run's shared error marker (see build.first_error_of_the_run)

        if os.environ.get(ERROR_MARKER):
            try:
                os.unlink(os.environ[ERROR_MARKER])
            except OSError:
                pass
        super().complete_run()

    def add_success(self, task):
        super().add_success(task)
        if self.timed and task.name in self.started and task.actions:
            self.write(f"   {task.title()}: {time.perf_counter() - self.started[task.name]:.2f} s\n")
