"""What the references' self-checks (check_llama.py, check_encoder_decoder.py) share: a line per
check, and the names of the failed ones for the exit status."""
import torch

FAILURES = []


def report(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{(': ' + detail) if detail else ''}")
    if not ok:
        FAILURES.append(name)


def close(name, a, b, tol):
    err = (a - b).abs().max().item() if torch.is_tensor(a) else abs(a - b)
    report(name, err <= tol, f"max err {err:.2e} (tol {tol:.0e})")
