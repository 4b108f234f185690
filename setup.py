"""Build script for the realm Python package.

The package is pure Python over a C library written in Go. Building it means
compiling that library with ``go build -buildmode=c-shared`` into the package
folder, beside a copy of its header ``capi/realm.h`` (the cffi definitions are
read from the header at import time). Everything declarative is in
pyproject.toml.

Flows:

* ``pip install .`` / ``pip wheel .``: the library is built into the build
  folder and shipped in a platform-tagged ``py3-none-<platform>`` wheel (cffi's
  ABI mode does not depend on the Python version). Needs Go and a C compiler
  (cgo); the wheel then installs and runs without either.
* ``pip install -e .``: the library and header are built in place, into
  ``python/realm/``; after changing Go code, run ``make lib`` (or this same
  command) again to rebuild them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import Dict, List, Tuple

from setuptools import Command, setup
from setuptools.command.build import build
from setuptools.dist import Distribution

try:  # setuptools >= 70.1 ships bdist_wheel itself.
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover - older setuptools
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

ROOT = os.path.dirname(os.path.abspath(__file__))
PACKAGE = "realm"
LIBRARY = "librealm.dylib" if sys.platform == "darwin" else "librealm.so"
HEADER = os.path.join("capi", "realm.h")

# Commands run (from the repository root) before the library is built, for
# artefacts the library embeds with go:embed. Empty: the default WebAssembly
# guest (engine/sandbox/default.wasm) is committed, byte-identical to what
# `make guest` builds from guest/default/policy.c with clang (a Go test checks
# it), so building the package needs no WebAssembly toolchain. A step that
# must run before `go build` goes here, e.g. ["sh", "guest/build.sh", ...].
PREBUILD_COMMANDS: List[List[str]] = []


class build_go(Command):
    """Compile the Go C library into the package and copy its header."""

    description = "build librealm (go build -buildmode=c-shared) into the package"
    user_options = [("build-lib=", "b", "directory to build the package into")]

    def initialize_options(self) -> None:
        self.build_lib: str | None = None
        # Set by setuptools' editable_wheel: build into the source tree.
        self.editable_mode = False

    def finalize_options(self) -> None:
        self.set_undefined_options("build", ("build_lib", "build_lib"))

    def _package_dir(self) -> str:
        if self.editable_mode:
            return os.path.join(ROOT, "python", PACKAGE)
        assert self.build_lib is not None
        return os.path.join(self.build_lib, PACKAGE)

    def run(self) -> None:
        go = shutil.which("go")
        if go is None:
            raise SystemExit(
                "realm: building from source needs Go (https://go.dev/dl/) and a C "
                "compiler for cgo; install them, or install a prebuilt realm wheel"
            )
        target = self._package_dir()
        os.makedirs(target, exist_ok=True)
        env = dict(os.environ, CGO_ENABLED="1")
        for cmd in PREBUILD_COMMANDS:
            self.announce(" ".join(cmd), level=2)
            subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        library = os.path.join(target, LIBRARY)
        cmd = [go, "build", "-buildmode=c-shared", "-trimpath", "-o", library, "./capi"]
        self.announce(" ".join(cmd), level=2)
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        # cgo also writes its own header beside the library; the package
        # ships the hand-written capi/realm.h instead.
        generated = os.path.splitext(library)[0] + ".h"
        if os.path.exists(generated):
            os.remove(generated)
        shutil.copyfile(os.path.join(ROOT, HEADER), os.path.join(target, "realm.h"))

    def get_outputs(self) -> List[str]:
        target = self._package_dir()
        return [os.path.join(target, LIBRARY), os.path.join(target, "realm.h")]

    def get_output_mapping(self) -> Dict[str, str]:
        return {}

    def get_source_files(self) -> List[str]:
        return [HEADER]


class build_with_go(build):
    """The standard build, followed by build_go."""

    sub_commands = build.sub_commands + [("build_go", None)]


class bdist_wheel_platform(bdist_wheel):
    """Tag wheels ``py3-none-<platform>``: the package holds a native library
    but loads it with cffi's ABI mode, so any Python 3 on that platform works."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> Tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


class BinaryDistribution(Distribution):
    """A distribution that installs into platlib (it ships a native library)."""

    def has_ext_modules(self) -> bool:
        return True


setup(
    distclass=BinaryDistribution,
    cmdclass={
        "build": build_with_go,
        "build_go": build_go,
        "bdist_wheel": bdist_wheel_platform,
    },
)
