"""Slack app that finds and posts the live-stream replays of Tencent Meeting meetings."""
