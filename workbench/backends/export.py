"""Write a base model as a safetensors folder that a server (vLLM) can load: `python -m workbench export-model DIR`.

vLLM does not read the GGUF files the embedded models ship as; transformers dequantizes them at load, so the
plain weights are saved again with save_pretrained (after dropping the GGUF quantization marker) next to the
tokenizer, its chat template and the generation config.
"""

from __future__ import annotations

import json
from pathlib import Path


def export_model(name: str, out_dir: Path) -> dict:
    """Save `name` (catalog name, folder or hub id) to out_dir once; returns what was written."""
    from ..models import load_llm
    from ..training.trainer import fresh_base

    out_dir = Path(out_dir)
    marker = out_dir / "workbench-export.json"
    if marker.is_file() and json.loads(marker.read_text()).get("model") == name:
        return json.loads(marker.read_text()) | {"reused": True}
    model, tokenizer, source, _ = load_llm(name, "cpu")
    base = fresh_base(model)  # clears the GGUF marker, which would make save_pretrained refuse
    out_dir.mkdir(parents=True, exist_ok=True)
    base.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    info = {"model": name, "model_id": source.model_id, "path": str(out_dir.resolve()),
            "files": sorted(p.name for p in out_dir.iterdir())}
    marker.write_text(json.dumps(info, indent=2))
    return info | {"reused": False}
