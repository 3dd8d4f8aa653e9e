"""Bad input, everywhere: fuzzing every decoder, codec and loader that takes outside input.

The property is the same in every module here: an input either decodes or raises the
module's own documented error, whose message is not empty and names what was wrong;
no other exception (KeyError, TypeError, IndexError, UnicodeDecodeError, RecursionError,
a ValueError from int() or Decimal, OverflowError, MemoryError...) ever escapes. Where
an encoder exists, what it writes decodes back to what it was given, and whatever
decodes survives being encoded again.

The strategies (`tests.fuzz.mutate`) start from valid messages, frames and documents
and mutate them (flip and replace bytes, truncate, splice, swap a field's value for
one of another JSON/TOML type, huge numbers, NaN and infinities, deep nesting, long
strings, lone surrogates, bytes that are not UTF-8), so most examples get past the
first validation layer instead of dying on it like random bytes do.

Runs are deterministic (`derandomize=True`, no example database): a failure in CI
is the same failure on a laptop. `FUZZ_SCALE=20 make test` runs twenty times the
examples (still deterministic); a crash found that way is kept as an `@example` or
a plain regression test next to the property that found it.

atheris (coverage-guided, libFuzzer) installs from a manylinux x86_64 wheel for
CPython 3.11 with no compiler (3.0.0 tried). It has no aarch64 wheel, so on a
Raspberry Pi it would need clang to build: the `dev` extra asks for it on x86_64
only, and `test_atheris.py` runs its short harness (`atheris_wire.py`) only where
it is installed.
"""
