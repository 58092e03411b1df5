"""Kafka's jars: Kafka and its runtime dependencies, copied from Maven Central into <run>/kafka/libs once
per version of deploy/kafka/pom.xml."""

import hashlib
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Sequence

from .settings import REPO_ROOT, Settings, StackError
from .system import require_tool, say, tail

KAFKA_POM = REPO_ROOT / "deploy" / "kafka" / "pom.xml"
KAFKA_VERSION = "3.9.1"
KAFKA_MAIN_JAR = f"kafka_2.13-{KAFKA_VERSION}.jar"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies"


def _pom_fingerprint() -> str:
    """Hash of the committed pom: changing the pom invalidates the assembled libs folder."""
    return hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()


def kafka_libs_complete(settings: Settings) -> bool:
    """True if a previous copy-dependencies run finished for the current pom."""
    try:
        marker = settings.kafka_libs_marker.read_text().strip()
    except OSError:
        return False
    return marker == _pom_fingerprint() and (settings.kafka_libs / KAFKA_MAIN_JAR).is_file()


def _run_with_dots(cmd: Sequence[str], log_path: Path, every: float = 5.0) -> int:
    """Run a long command with its output in log_path, printing a dot now and then."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        last = time.monotonic()
        while proc.poll() is None:
            time.sleep(0.5)
            if time.monotonic() - last >= every:
                say(".", end="")
                last = time.monotonic()
    say()
    return proc.returncode


def assemble_kafka_libs(settings: Settings) -> None:
    """Copy Kafka and its runtime dependencies from Maven Central into <run>/kafka/libs.

    A marker file is written last, so an interrupted copy is detected and redone from scratch.
    """
    if kafka_libs_complete(settings):
        return
    mvn = require_tool("mvn", "Install Maven: `apt-get install -y maven` (it needs a JDK, "
                              "e.g. `apt-get install -y openjdk-17-jdk-headless`).")
    shutil.rmtree(settings.kafka_libs, ignore_errors=True)
    settings.kafka_libs.mkdir(parents=True)
    settings.m2_dir.mkdir(parents=True, exist_ok=True)
    cmd = [mvn, "-q", "-B", "-Dstyle.color=never", f"-Dmaven.repo.local={settings.m2_dir}",
           DEPENDENCY_PLUGIN,
           "-DincludeScope=runtime", f"-DoutputDirectory={settings.kafka_libs}",
           "-f", str(KAFKA_POM)]
    say(f"kafka: assembling Kafka {KAFKA_VERSION} jars from Maven Central into "
        f"{settings.kafka_libs} (first run: a few minutes)", end="")
    started = time.monotonic()
    if _run_with_dots(cmd, settings.maven_log) != 0:
        output = tail(settings.maven_log, 25)
        hint = ""
        if re.search(r"transfer|resolve|UnknownHost|Connect|timed out|PKIX", output, re.I):
            hint = ("\nMaven could not download from Maven Central: check network access to "
                    "https://repo.maven.apache.org (or a proxy/mirror in ~/.m2/settings.xml).")
        raise StackError(f"mvn failed (full log: {settings.maven_log}). Last lines:\n"
                         f"{output}{hint}")
    if not (settings.kafka_libs / KAFKA_MAIN_JAR).is_file():
        raise StackError(f"mvn finished but {KAFKA_MAIN_JAR} is missing from {settings.kafka_libs}")
    settings.kafka_libs_marker.write_text(_pom_fingerprint() + "\n")
    say(f"kafka: jars ready ({len(list(settings.kafka_libs.glob('*.jar')))} jars, "
        f"{time.monotonic() - started:.0f}s)")


def java_classpath(settings: Settings) -> str:
    return f"{settings.kafka_libs}/*"
