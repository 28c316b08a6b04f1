// Seed 000 "WebSocket API Guide", section "Connection" > "Connection Example",
// JavaScript block, copied verbatim. When it loads this file, the test puts the test
// server's address in place of the seed's host:port and a real job id in place of the
// seed's placeholder execution id.

const executionId = "exec-123";
const ws = new WebSocket(`ws://localhost:8000/api/ws/executions/${executionId}`);

ws.onopen = () => {
  console.log("WebSocket connected");
};

ws.onmessage = (event) => {
  const message = JSON.parse(event.data);
  console.log("Received:", message);
};

ws.onerror = (error) => {
  console.error("WebSocket error:", error);
};

ws.onclose = () => {
  console.log("WebSocket closed");
};
