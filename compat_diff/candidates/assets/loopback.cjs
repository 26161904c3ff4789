// Preloaded with NODE_OPTIONS=--require: force every net.Server.listen() of this node process onto
// 127.0.0.1, for servers that hard-code 0.0.0.0 (a test server must never face the network).
'use strict';
const net = require('net');
const originalListen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnLoopback(...args) {
  const first = args[0];
  if (first !== null && typeof first === 'object' && !(first instanceof net.Server) && 'port' in first) {
    args[0] = { ...first, host: '127.0.0.1' };
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof args[1] === 'string') args[1] = '127.0.0.1';
    else args.splice(1, 0, '127.0.0.1');
  }
  return originalListen.apply(this, args);
};
