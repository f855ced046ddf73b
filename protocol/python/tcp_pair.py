#!/usr/bin/env python3
# The classic TCP pair, as tcpstep's relay runs it, written the way the
# sockets chapter writes its programs. Each socket call the relay makes is
# one line here, in the same order; the page marks the line each program
# is at. The defaults are the classic exchange: the client sends 17 bytes,
# the server reads 16, replies with 16 and closes with one byte unread.
#
#   python3 tcp_pair.py server -p 3000
#   python3 tcp_pair.py client -p 3000

import argparse, socket, struct, time

def recvall(sock, length, pause=0):
    data = b''
    while len(data) < length:
        if data and pause:
            time.sleep(pause)  # a slow reader: the receive queue fills meanwhile
        more = sock.recv(length - len(data))
        if not more:
            raise EOFError('was expecting %d bytes but only received'
                           ' %d bytes before the socket closed'
                           % (length, len(data)))
        data += more
    return data

def server(interface, port, backlog=1, expected=16, reply=b'Goodbye, client!',
           accept_pause=0, read_pause=0, rcvbuf=None, sndbuf=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if sndbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    sock.bind((interface, port))
    sock.listen(backlog)
    print('Listening at', sock.getsockname())
    while True:
        if accept_pause:
            time.sleep(accept_pause)  # a busy server: the accept queue fills
        print('Waiting for a new connection')
        sc, sockname = sock.accept()
        print('Connection from', sockname)
        print('  Socket name:', sc.getsockname())
        print('  Socket peer:', sc.getpeername())
        message = recvall(sc, expected, read_pause)
        print('  message from client:', repr(message))
        if reply is not None:
            sc.sendall(reply)
        sc.close()
        print('  Closing socket')

def send_in_pieces(sock, message, size, pause):
    for i in range(0, len(message), size):
        if i:
            time.sleep(pause)
        sock.sendall(message[i:i + size])

def client(host, port, message=b'Greetings, server', expects=16,
           chunk=None, pause=0, nodelay=False, half_close=False, abort=False,
           rcvbuf=None, sndbuf=None, syn_retries=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if sndbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    if nodelay:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if syn_retries:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, syn_retries)
    sock.connect((host, port))
    print('Client has been assigned the socket: ', sock.getsockname())
    if chunk:
        send_in_pieces(sock, message, chunk, pause)
    else:
        sock.sendall(message)
    if half_close:
        sock.shutdown(socket.SHUT_WR)  # a FIN now; the reply can still come
        print('Sending side shut down: the server sees end of stream')
    if expects is not None:
        reply = recvall(sock, expects)
        print('Server: ', repr(reply))
    if abort:
        # On and 0 seconds: close() resets the connection instead of a FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    sock.close()

if __name__ == '__main__':
    choices = {'client': client, 'server': server}
    parser = argparse.ArgumentParser(description='Send and receive over TCP')
    parser.add_argument('role', choices=choices, help='which role to play')
    parser.add_argument('host', nargs='?', default='127.0.0.1',
                        help='interface the server listens at;'
                        ' host the client sends to (default 127.0.0.1)')
    parser.add_argument('-p', metavar='PORT', type=int, default=3000,
                        help='TCP port (default 3000)')
    args = parser.parse_args()
    function = choices[args.role]
    function(args.host, args.p)
