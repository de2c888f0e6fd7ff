"""Load and latency benchmarks of the replays bot, side by side with a bare Bolt app in the same run.

Run `python -m benchmarks` (full, a few minutes) or `python -m benchmarks --quick` (under a minute);
it prints Markdown tables and one line per goal (met / not met, and what limits it).

Layout (2 cores):

- the **server under test** runs in its own process, pinned to CPU 0: either the real bot
  (`bot.server.BotServer` built with `bot.config.load_settings(env_file=None, ...)` exactly as the
  end-to-end tests build it, SQLite database, INFO logging to a file) or the **bare Bolt app** (an
  `AsyncApp` that only acknowledges `/replays`, served the same way: aiohttp +
  `to_bolt_request`/`to_aiohttp_response`, signature verification on);
- the **driver** process, pinned to CPU 1, runs the load generator and the project's fakes
  (`tests.fakes.slack.FakeSlack` + `SlackSender`, `tests.fakes.tencent.FakeTencent` with 300 ms
  latency, `tests.fakes.tencent_webhook`). Both servers talk to the same fakes.

The server's CPU use and the driver's are measured for every run (from /proc) so that a run bound by
the load generator shows as such.

Two thin subclasses keep the fakes from limiting the driver: `TimedFakeSlack` notes when each
`response_url` answer arrives and wakes only its own waiter; `BenchFakeTencent` checks the same
nonce-replay rule in O(1) instead of scanning every nonce of the last five minutes per call.
Everything else (signature checks, creator-only answers, quota, latency) is the fakes' own.
"""
