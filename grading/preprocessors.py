"""nbgrader preprocessors the course adds to autograding."""

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer

NOTICE = "\n... [output truncated by the grader: {dropped:,} more characters]\n"


class TruncateLongOutputs(NbGraderPreprocessor):
    """Cut any single output text longer than ``max_chars``.

    nbgrader's LimitOutput caps the number of lines, not their length: one giant line
    would otherwise make a notebook (and its feedback page) tens of megabytes.
    """

    max_chars = Integer(20_000, help="longest text kept from one output").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = self._cut(output["text"])
            for mime, value in output.get("data", {}).items():
                if isinstance(value, str) and mime.startswith("text/"):
                    output["data"][mime] = self._cut(value)
            if "traceback" in output:
                output["traceback"] = [self._cut(line) for line in output["traceback"]]
        return cell, resources

    def _cut(self, text):
        if isinstance(text, list):
            text = "".join(text)
        if len(text) <= self.max_chars:
            return text
        return text[: self.max_chars] + NOTICE.format(dropped=len(text) - self.max_chars)
