"""The live Plaudit server of the LangSmith SDK tests (uvicorn in a thread, a port
the OS picks), and keys made on it: the Langfuse SDK sends real HTTP."""

from tests.compat.langsmith.sdk.conftest import keys, live

__all__ = ["keys", "live"]
