"""`python -m benchmarks`: every speed and memory budget (see __main__.py). What the benchmark modules share lives
here: the process brought to the state the app's server is in before a student trains."""


def warmed_up() -> None:
    """The process as the app's server has it before a student trains: its warm-up done (the first fused AdamW's
    import of torch._dynamo, paid once per process, is not part of any training's time on the server)."""
    from lab.server import runtime

    thread = runtime.warm_up()
    if thread is not None:
        thread.join()
