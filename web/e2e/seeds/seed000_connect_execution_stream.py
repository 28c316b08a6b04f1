# Seed 000 "WebSocket API Guide", section "Connection" > "Connection Example",
# Python block, copied verbatim. run_python_seed.py puts the test server's address in
# place of the seed's host:port when it loads this file.

import asyncio
import websockets
import json

async def connect_execution_stream(execution_id: str):
    uri = f"ws://localhost:8000/api/ws/executions/{execution_id}"
    async with websockets.connect(uri) as websocket:
        while True:
            message = await websocket.recv()
            data = json.loads(message)
            print(f"Received: {data}")

asyncio.run(connect_execution_stream("exec-123"))
