"""Token-level drift of a quantized precision against the reference (BF16), teacher-forced:
both servers score the reference's own responses, prefill only, and their next-token
distributions are compared position by position (llama.cpp's `perplexity --kl-divergence`,
against served models)."""
