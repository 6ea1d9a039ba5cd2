"""What a run leaves behind: the run folder and its manifest (run_folder.py), the typed
records its files hold (types.py), the generation store (generations.py), atomic JSON
(jsonio.py) and file locks (locking.py)."""
