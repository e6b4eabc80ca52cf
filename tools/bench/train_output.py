"""What the benchmark scripts read from tools/train's output."""
import re
import sys


def test_accuracy(stdout, who):
    """The test accuracy of tools/train's closing line,
    `test accuracy 0.9110, macro-F1 0.9108 after 31 epochs; 97.7 s of training`;
    exits naming `who` when there is none."""
    found = re.findall(r"^test accuracy ([0-9.]+)", stdout, re.MULTILINE)
    if not found:
        sys.exit(f"{who}: tools/train printed no test accuracy:\n{stdout[-2000:]}")
    return float(found[-1])
