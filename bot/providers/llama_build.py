"""Whether the installed llama.cpp was built without its AMX kernels.

A native build on a Sapphire Rapids-class CPU compiles them in and llama.cpp then repacks the weights
for them; in some VMs the first decode then segfaults (ggml-org/llama.cpp#20824; seen on this project's
machines: the whole chat process dies on the first question). The Makefile builds without them and
runs this module to catch a wheel pip had cached from an earlier native build.

``python -m bot.providers.llama_build`` exits 0 when the build is safe, 1 when AMX is compiled in.
"""
from __future__ import annotations

import sys


def compiled_features() -> dict[str, bool]:
    """The CPU features llama.cpp was compiled with ("AVX2 = 1 | AMX_INT8 = 1 | …")."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    out = {}
    for part in info.replace("CPU :", "|").split("|"):
        name, _, value = part.partition("=")
        if value.strip():
            out[name.strip()] = value.strip() == "1"
    return out


def has_amx(features: dict[str, bool]) -> bool:
    return any(on for name, on in features.items() if name.startswith("AMX"))


def main() -> int:
    try:
        features = compiled_features()
    except ImportError:
        return 0  # no local model installed: nothing to check
    if has_amx(features):
        print("llama-cpp-python was built with AMX kernels, which crash in some VMs: rebuilding it without them",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
