"""The closed error taxonomy. Every failure Lontar reports is one of these kinds.

Page- and file-level errors become rows (`status = "error"`, `error_kind`, `error`); configuration-level errors
stop the run before any work fans out. Only the CLI maps kinds to exit codes; only `retryable` errors are
retried by the orchestrator.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ocr_models.types import valid_text

# user:password@ in a URL, and the signature or token of a signed URL's query (S3, GCS, Azure SAS, ...)
_URL_USERINFO = re.compile(r"(?<=://)[^/?#@\s]+@")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|"
                           r"x-goog-credential|sig|signature|token|access_token|api_key|key)=)[^&#:\s'\"]+")


class LontarError(Exception):
    """Base of every error Lontar raises on purpose."""

    kind = "internal"
    retryable = False


# --- configuration level: stop before fanning out ----------------------------------------------------------
class UsageError(LontarError):
    """The command line or the config file is wrong."""

    kind = "usage"


class MissingDependencyError(LontarError):
    """A program, model or package the run needs is not installed; the message names what to install."""

    kind = "missing_dependency"


class OutputError(LontarError):
    """The output location cannot be written."""

    kind = "output"


class NoInputError(LontarError):
    """The inputs named match no file at all."""

    kind = "no_input"


class OrchestratorError(LontarError):
    """The Prefect server that keeps the queue does not answer, or refused what was asked of it."""

    kind = "orchestrator"


# --- page and file level: recorded on rows, the run goes on -----------------------------------------------
class InputError(LontarError):
    """A file or page cannot be read: empty, truncated, encrypted, not what its name says."""

    kind = "bad_input"


class UnsupportedFormatError(InputError):
    kind = "unsupported_format"


class EncryptedInputError(InputError):
    kind = "encrypted"


class TooLargeError(InputError):
    """A page over a configured limit (pixels, working memory): refused rather than risk the worker."""

    kind = "too_large"


class EngineError(LontarError):
    """The OCR engine failed on a page."""

    kind = "engine"


class EngineTimeoutError(EngineError):
    kind = "engine_timeout"


# --- infrastructure: worth another try ----------------------------------------------------------------------
class TransientError(LontarError):
    """A failure of the infrastructure rather than the input (a lost worker, a storage hiccup)."""

    kind = "transient"
    retryable = True


def error_kind(exc: BaseException) -> str:
    """The taxonomy kind of any exception; foreign exceptions are `internal`."""
    return exc.kind if isinstance(exc, LontarError) else "internal"


def without_credentials(text: str, url: str = "") -> str:
    """`text` with the credentials of any URL in it removed (and those of `url`, wherever a library's message
    quotes them without their URL): what rows, reports and logs may show."""
    parts = urlsplit(url)
    secrets = [parts.password, *(m.group(0).split("=", 1)[1] for m in _QUERY_SECRET.finditer(url))]
    for secret in filter(None, secrets):
        text = text.replace(secret, "***")
    return _QUERY_SECRET.sub(r"\1***", _URL_USERINFO.sub("", text))


def describe(exc: BaseException) -> str:
    """A one-line, human-readable reason for a row's `error` column (credentials in URLs removed)."""
    text = without_credentials(valid_text(str(exc).strip().splitlines()[0])) if str(exc).strip() else ""
    if isinstance(exc, LontarError):
        return text or exc.kind.replace("_", " ")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
