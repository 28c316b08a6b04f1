// Seed 000 "WebSocket API Guide", section "Connection Lifecycle" > "2. Receive Updates",
// copied verbatim. It replaces ws.onmessage of the connection example; the test
// defines the handle* functions it calls.

ws.onmessage = (event) => {
  const message = JSON.parse(event.data);
  
  switch (message.type) {
    case "status":
      handleStatusUpdate(message);
      break;
    case "node_update":
      handleNodeUpdate(message);
      break;
    case "log":
      handleLog(message);
      break;
    case "completion":
      handleCompletion(message);
      break;
    case "error":
      handleError(message);
      break;
  }
};
