// Seed 004 "WebSocket Events", section "Client Implementation" > "Basic WebSocket Client"
// (the RoutiluxWebSocket class and its usage block), copied verbatim. When it loads this
// file, the test puts the test server's address in place of the seed's host:port and a
// real job id in place of the seed's placeholder job id.

class RoutiluxWebSocket {
  constructor(url) {
    this.url = url;
    this.ws = null;
    this.subscriptions = new Set();
    this.eventHandlers = new Map();
  }

  connect() {
    this.ws = new WebSocket(this.url);

    this.ws.onopen = () => {
      console.log('WebSocket connected');
      this.emit('connected');
    };

    this.ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      this.handleMessage(message);
    };

    this.ws.onerror = (error) => {
      console.error('WebSocket error:', error);
      this.emit('error', error);
    };

    this.ws.onclose = () => {
      console.log('WebSocket disconnected');
      this.emit('disconnected');
    };
  }

  subscribe(events) {
    events.forEach(e => this.subscriptions.add(e));

    if (this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({
        action: 'subscribe',
        events: events
      }));
    }
  }

  unsubscribe(events) {
    events.forEach(e => this.subscriptions.delete(e));

    if (this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({
        action: 'unsubscribe',
        events: events
      }));
    }
  }

  handleMessage(message) {
    // Handle ping
    if (message.type === 'ping') {
      this.ws.send(JSON.stringify({ type: 'pong' }));
      return;
    }

    // Check if we're subscribed to this event
    if (this.subscriptions.size === 0 || this.subscriptions.has(message.type)) {
      this.emit(message.type, message);
    }
  }

  on(event, handler) {
    if (!this.eventHandlers.has(event)) {
      this.eventHandlers.set(event, []);
    }
    this.eventHandlers.get(event).push(handler);
  }

  emit(event, data) {
    const handlers = this.eventHandlers.get(event) || [];
    handlers.forEach(handler => handler(data));
  }

  disconnect() {
    if (this.ws) {
      this.ws.close();
    }
  }
}

// Usage
const client = new RoutiluxWebSocket('ws://localhost:20555/api/ws/jobs/job_123/monitor');

client.on('connected', () => {
  // Subscribe to specific events
  client.subscribe(['job_started', 'job_failed', 'breakpoint_hit']);
});

client.on('job_failed', (event) => {
  console.log('Job failed:', event.data.error);
});

client.on('breakpoint_hit', (event) => {
  console.log('Breakpoint hit at', event.breakpoint.routine_id);
});

client.connect();
