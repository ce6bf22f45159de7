#!/usr/bin/python3
"""One signature through a PKCS#11 module, for the agreement test.

usage: p11sign.py MODULE TOKEN PIN ID_HEX|- LABEL|- MECHANISM DATAFILE

Finds the private key by CKA_ID and/or CKA_LABEL on the token with that
label, signs DATAFILE's bytes in one C_Sign (PyKCS11: C_SignInit, then
C_Sign for the length and for the signature) and prints "ok LENGTH" or
"err CKR_NAME".  Exit 0 either way; 2 when the key is not found (the test
is then wrong, not the module).
"""
import sys

import PyKCS11
from PyKCS11.LowLevel import (CKA_CLASS, CKA_ID, CKA_LABEL, CKO_PRIVATE_KEY, CKM_ECDSA,
                              CKM_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA512_RSA_PKCS)

MECHS = {
    "SHA256-RSA-PKCS": CKM_SHA256_RSA_PKCS,
    "SHA512-RSA-PKCS": CKM_SHA512_RSA_PKCS,
    "RSA-PKCS": CKM_RSA_PKCS,
    "ECDSA": CKM_ECDSA,
}


def main():
    module, token, pin, id_hex, label, mech, datafile = sys.argv[1:8]
    lib = PyKCS11.PyKCS11Lib()
    lib.load(module)
    slots = [s for s in lib.getSlotList(tokenPresent=True)
             if lib.getTokenInfo(s).label.strip() == token]
    if not slots:
        print("no token", token)
        return 2
    session = lib.openSession(slots[0], PyKCS11.CKF_SERIAL_SESSION)
    session.login(pin)
    tmpl = [(CKA_CLASS, CKO_PRIVATE_KEY)]
    if id_hex != "-":
        tmpl.append((CKA_ID, bytes.fromhex(id_hex)))
    if label != "-":
        tmpl.append((CKA_LABEL, label))
    keys = session.findObjects(tmpl)
    if len(keys) != 1:
        print("found %d keys for id %s label %s" % (len(keys), id_hex, label))
        return 2
    data = open(datafile, "rb").read()
    try:
        sig = session.sign(keys[0], data, PyKCS11.Mechanism(MECHS[mech]))
        print("ok", len(sig))
    except PyKCS11.PyKCS11Error as e:
        print("err", PyKCS11.CKR[e.value] if e.value in PyKCS11.CKR else hex(e.value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
