"""The local session's JVM runs with the settings session.py gives it (a client-mode driver's Java options reach
its JVM only when they are set before it starts)."""

from __future__ import annotations

from pinterest_pipeline.session import LOCAL_JIT_OPTIONS


def test_the_local_jvm_runs_with_the_compiler_thresholds(spark):
    jvm = spark.sparkContext._jvm
    management = jvm.java.lang.management.ManagementFactory
    hotspot = management.getPlatformMXBean(
        jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean")
    )
    options = dict(option.removeprefix("-XX:").split("=") for option in LOCAL_JIT_OPTIONS.split())
    assert len(options) == 4
    # The value the JVM runs with, not only what it was given.
    assert {name: hotspot.getVMOption(name).getValue() for name in options} == options
