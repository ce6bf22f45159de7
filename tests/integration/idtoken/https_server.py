#!/usr/bin/python3
"""A local HTTPS server for the JWKS fetch test: 127.0.0.1 only, an
ephemeral port written to PORTFILE, files served from DIR (the test
writes the discovery document and the JWKS there), TLS with CERT/KEY.

  https_server.py DIR CERT KEY PORTFILE
"""
import http.server
import os
import ssl
import sys

root, cert, key, portfile = sys.argv[1:5]
os.chdir(root)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


httpd = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(httpd.server_address[1]))
os.rename(portfile + ".tmp", portfile)
httpd.serve_forever()
