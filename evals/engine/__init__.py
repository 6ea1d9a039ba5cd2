"""The engine: a vLLM server in its own process (server.py) and its guard (guard.py), the
endpoints a model's requests go to (endpoints.py; several replicas of one: replicas.py), the
pool that sends them (client.py), each server's ports (ports.py), what it runs on
(facts.py), weights on disk (fetch.py), and the tiny CPU model (tiny/)."""
