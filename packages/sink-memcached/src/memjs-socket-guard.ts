import type { Socket } from 'node:net';
import type memjs from 'memjs';

/** The parts of a memjs 1.3 Server this guard reaches into (none of them is in memjs's typings as writable). */
interface ServerInternals {
  _socket: Socket | undefined;
  responseBuffer: Buffer;
  errorCallbacks: Record<number, unknown>;
  connectCallbacks: unknown[];
  sock(sasl: boolean, go: (socket: Socket) => void): void;
  error(err: Error): void;
}

type Listener = (this: Socket, ...args: unknown[]) => void;

/**
 * Keeps a memjs 1.3.2 server from wedging after a hung memcached resumes (measured: the chaos scenario's
 * 10 s SIGSTOP left every request waiting until the dispatcher's 30 s apply timeout).
 *
 * memjs ends a socket whose request timed out and opens another, but listens to the old one still: its
 * `close` handler clears `server._socket` whichever socket is current, and cancels that socket's timer. A
 * frozen memcached never closes the ended sockets; once it resumes they all close at once, and each close
 * orphans the live socket. A request queued while that socket was connecting then waits for an
 * `authenticated` event that finds no socket: it is never written, no timer runs, and nothing calls it back.
 * An ended socket's late `error` fails the live socket's requests the same way, and its late replies land
 * in the one response buffer the live socket parses.
 *
 * So, on each server of a client the sink made: memjs's `close` and `error` handlers act only for the
 * current socket; a socket memjs gives up on (`error()`: a timeout, a refused or lost connection) is
 * destroyed at once with every other it opened, and the response buffer emptied; and a current socket that
 * closes with requests in flight fails them (memjs's handler leaves them without a timer), so that memjs's
 * retries send them on a new connection.
 */
export function guardSockets(server: memjs.Server): void {
  const s = server as unknown as ServerInternals;
  const opened = new Set<Socket>();
  const sock = s.sock.bind(s);
  const error = s.error.bind(s);

  s.error = (err: Error) => {
    for (const socket of opened) socket.destroy();
    opened.clear();
    // A reply cut off by the destroy would otherwise prefix the next connection's replies.
    s.responseBuffer = Buffer.alloc(0);
    error(err);
  };

  s.sock = (sasl, go) => {
    const before = s._socket;
    sock(sasl, go);
    const socket = s._socket;
    if (socket === undefined || socket === before) return;
    // memjs added its `close` and `error` handlers to this new socket just now (net.Socket adds none).
    opened.add(socket);
    const [onClose, onError] = [socket.listeners('close'), socket.listeners('error')] as Listener[][];
    socket.removeAllListeners('close').removeAllListeners('error');
    socket.on('error', function (this: Socket, ...args: unknown[]) {
      if (s._socket === socket) for (const listener of onError!) listener.apply(this, args);
    });
    socket.on('close', function (this: Socket, ...args: unknown[]) {
      opened.delete(socket);
      if (s._socket !== socket) return;
      for (const listener of onClose!) listener.apply(this, args);
      // memjs's handler left the requests in flight without a socket or a timer: fail them (memjs retries).
      if (Object.keys(s.errorCallbacks).length > 0 || s.connectCallbacks.length > 0)
        s.error(new Error('memcached closed the connection'));
    });
  };
}
