"""How long an evaluation keeps the model busy after Cancel: the real app over HTTP, the real model.

    python scripts/cancel_latency.py            # cancels 12 s and 25 s into a 16-question, four-arm run

Every forward pass of the model is timed by a hook; the script prints how many ran after Cancel and when the last
one ended. Nothing is cached (the run asks for fresh answers), so each run starts its first batch at once.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gradio_client import Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.config import Settings  # noqa: E402
from workbench.engine import Workbench  # noqa: E402
from workbench.ui import build_app  # noqa: E402


def main(cancel_after_s=(12, 25), questions: int = 16) -> None:
    wb = Workbench.load(Settings.from_env())
    passes: list[float] = []
    wb.model.register_forward_hook(lambda *_: passes.append(time.time()))
    demo = build_app(wb.settings, wb).queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    client, s = Client(url, verbose=False), wb.settings
    try:
        for wait in cancel_after_s:
            job = client.submit("handbook/test", None, ["base", "rag", "lora", "raft"], questions,
                                "(the set's own corpus)", s.top_k, s.max_new_tokens, 0.0, s.lora_adapter,
                                s.raft_adapter, False, api_name="/evaluate")
            time.sleep(wait)
            cancelled = time.time()
            job.cancel()
            time.sleep(60)  # longer than any batch takes
            after = [t for t in passes if t > cancelled]
            last = after[-1] - cancelled if after else 0.0
            print(f"Cancel {wait} s in: {len(after)} forward passes after it, the last ended {last:.1f} s after",
                  flush=True)
    finally:
        demo.close()


if __name__ == "__main__":
    main()
