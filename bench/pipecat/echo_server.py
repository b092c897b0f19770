"""Pipecat 1.14 echo server for voxray's benchmark (issue 15; `pipeline.md` §10).

One FastAPI/uvicorn process; each WebSocket on `/ws` is one Pipecat pipeline
`transport.input() -> Echo -> transport.output()` with Pipecat's own ProtobufFrameSerializer,
16 kHz mono in and out, no VAD, so voxray's `examples/loadgen` (protobuf mode) drives both
servers unchanged. Every inbound `InputAudioRawFrame` goes back as an `OutputAudioRawFrame`
with the same bytes.

Modes (first argument):
  stock    Pipecat as shipped: the output transport sleeps after each audio write to
           emulate a playback device (`FastAPIWebsocketOutputTransport._write_audio_sleep`).
  unpaced  the same with that sleep removed (pacing patched out), as the issue's table.
Both use 20 ms output chunks (`audio_out_10ms_chunks=2`, the client's frame size; Pipecat's
default of 4 would add 20 ms of buffering to every echoed frame).

Usage: python echo_server.py stock|unpaced [port]
"""

import asyncio
import sys

import uvicorn
from fastapi import FastAPI, WebSocket
from loguru import logger

from pipecat.frames.frames import Frame, InputAudioRawFrame, OutputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.serializers.protobuf import ProtobufFrameSerializer
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketOutputTransport,
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)

# Pipecat logs every frame at DEBUG by default: benchmark the server, not its logging.
logger.remove()
logger.add(sys.stderr, level="WARNING")

MODE = sys.argv[1] if len(sys.argv) > 1 else "stock"
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 18080
RATE = 16000

if MODE == "unpaced":

    async def _no_sleep(self):
        return

    FastAPIWebsocketOutputTransport._write_audio_sleep = _no_sleep
elif MODE != "stock":
    sys.exit(f"echo_server.py: mode {MODE!r}: expected stock or unpaced")


class Echo(FrameProcessor):
    """Inbound audio goes back unchanged; everything else passes on."""

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            await self.push_frame(
                OutputAudioRawFrame(
                    audio=frame.audio,
                    sample_rate=frame.sample_rate,
                    num_channels=frame.num_channels,
                )
            )
        else:
            await self.push_frame(frame, direction)


app = FastAPI()


@app.websocket("/ws")
async def ws(websocket: WebSocket):
    await websocket.accept()
    transport = FastAPIWebsocketTransport(
        websocket=websocket,
        params=FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_in_sample_rate=RATE,
            audio_out_sample_rate=RATE,
            audio_out_10ms_chunks=2,
            add_wav_header=False,
            serializer=ProtobufFrameSerializer(),
            allowed_origins=[],
        ),
    )
    pipeline = Pipeline([transport.input(), Echo(), transport.output()])
    task = PipelineTask(
        pipeline,
        params=PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE),
        idle_timeout_secs=None,
    )

    @transport.event_handler("on_client_disconnected")
    async def _gone(_transport, _client):
        await task.cancel()

    await PipelineRunner(handle_sigint=False).run(task)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning", ws_max_size=1 << 20)
