/* signgate: the PKCS#11 function tables and the plain pass-throughs, each
 * named once.  Included by gate.c only.
 *
 * SG_P11_FUNCTIONS_2_40(X) and SG_P11_FUNCTIONS_3_0(X) name every entry of
 * CK_FUNCTION_LIST and of what CK_FUNCTION_LIST_3_0 adds, in the
 * standard's order.  gate.c fills both tables from them (entry C_<name>
 * = gate_<name>) and checks at compile time that the lists have as many
 * names as the structures have entries: an entry cannot be forgotten (the
 * table would be short), misspelt (no such member) or named twice
 * (-Woverride-init); a name without a gate_<name> does not compile.
 *
 * SG_P11_FORWARDS(SLOT, SESSION, SESSION3) names the calls that signgate
 * passes to the real module unchanged, with their parameter and argument
 * lists; gate.c generates gate_<name> from each line.  The shapes:
 *   SLOT      the caller's slot number (first parameter, slotID) becomes
 *             the real id; a slot the caller does not see is
 *             CKR_SLOT_ID_INVALID.
 *   SESSION   a call on a session (first parameter, hSession): the
 *             session's entry is held for the call; unknown handles go to
 *             the real module for its own answer, except poisoned ones
 *             (signgate's login sessions, a fork parent's sessions).
 *   SESSION3  the same for a PKCS#11 3.0 call: CKR_FUNCTION_NOT_SUPPORTED
 *             when the backend has no 3.0 interface.
 * All of them answer CKR_CRYPTOKI_NOT_INITIALIZED before C_Initialize.
 *
 * Only calls that neither produce a signature or a raw private-key
 * result nor create, copy, change, export or destroy a key belong here:
 * public-key operations, digests, secret-key encryption, searches and
 * attribute reads (a sensitive value is the token's to refuse), random
 * numbers.  Everything else is written out in gate.c and asks enforce.h
 * first; tests/integration/module/forward-table checks that none of
 * those reaches the real module before policy allowed it.
 */
#ifndef SIGNGATE_FORWARD_H
#define SIGNGATE_FORWARD_H

/* One name per X(), laid out as the list it is: */
/* clang-format off */
#define SG_P11_FUNCTIONS_2_40(X) \
	X(Initialize) X(Finalize) X(GetInfo) X(GetFunctionList) \
	X(GetSlotList) X(GetSlotInfo) X(GetTokenInfo) X(GetMechanismList) X(GetMechanismInfo) \
	X(InitToken) X(InitPIN) X(SetPIN) \
	X(OpenSession) X(CloseSession) X(CloseAllSessions) X(GetSessionInfo) \
	X(GetOperationState) X(SetOperationState) X(Login) X(Logout) \
	X(CreateObject) X(CopyObject) X(DestroyObject) X(GetObjectSize) \
	X(GetAttributeValue) X(SetAttributeValue) \
	X(FindObjectsInit) X(FindObjects) X(FindObjectsFinal) \
	X(EncryptInit) X(Encrypt) X(EncryptUpdate) X(EncryptFinal) \
	X(DecryptInit) X(Decrypt) X(DecryptUpdate) X(DecryptFinal) \
	X(DigestInit) X(Digest) X(DigestUpdate) X(DigestKey) X(DigestFinal) \
	X(SignInit) X(Sign) X(SignUpdate) X(SignFinal) X(SignRecoverInit) X(SignRecover) \
	X(VerifyInit) X(Verify) X(VerifyUpdate) X(VerifyFinal) \
	X(VerifyRecoverInit) X(VerifyRecover) \
	X(DigestEncryptUpdate) X(DecryptDigestUpdate) X(SignEncryptUpdate) \
	X(DecryptVerifyUpdate) \
	X(GenerateKey) X(GenerateKeyPair) X(WrapKey) X(UnwrapKey) X(DeriveKey) \
	X(SeedRandom) X(GenerateRandom) \
	X(GetFunctionStatus) X(CancelFunction) X(WaitForSlotEvent)

#define SG_P11_FUNCTIONS_3_0(X) \
	X(GetInterfaceList) X(GetInterface) X(LoginUser) X(SessionCancel) \
	X(MessageEncryptInit) X(EncryptMessage) X(EncryptMessageBegin) X(EncryptMessageNext) \
	X(MessageEncryptFinal) \
	X(MessageDecryptInit) X(DecryptMessage) X(DecryptMessageBegin) X(DecryptMessageNext) \
	X(MessageDecryptFinal) \
	X(MessageSignInit) X(SignMessage) X(SignMessageBegin) X(SignMessageNext) \
	X(MessageSignFinal) \
	X(MessageVerifyInit) X(VerifyMessage) X(VerifyMessageBegin) X(VerifyMessageNext) \
	X(MessageVerifyFinal)

#define SG_P11_FORWARDS(SLOT, SESSION, SESSION3) \
	SLOT(GetSlotInfo, (CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo), (slotID, pInfo)) \
	SLOT(GetMechanismList, \
	     (CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList, CK_ULONG_PTR pulCount), \
	     (slotID, pMechanismList, pulCount)) \
	SLOT(GetMechanismInfo, \
	     (CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo), \
	     (slotID, type, pInfo)) \
	/* objects: reading (a sensitive attribute is the token's to refuse) */ \
	SESSION(GetObjectSize, \
	        (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize), \
	        (hSession, hObject, pulSize)) \
	SESSION(GetAttributeValue, \
	        (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, \
	         CK_ULONG ulCount), \
	        (hSession, hObject, pTemplate, ulCount)) \
	SESSION(FindObjects, \
	        (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject, \
	         CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount), \
	        (hSession, phObject, ulMaxObjectCount, pulObjectCount)) \
	SESSION(FindObjectsFinal, (CK_SESSION_HANDLE hSession), (hSession)) \
	/* encryption (a public or secret key) */ \
	SESSION(EncryptInit, \
	        (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), \
	        (hSession, pMechanism, hKey)) \
	SESSION(Encrypt, \
	        (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, \
	         CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen), \
	        (hSession, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen)) \
	SESSION(EncryptUpdate, \
	        (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen, \
	         CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen), \
	        (hSession, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen)) \
	SESSION(EncryptFinal, \
	        (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart, \
	         CK_ULONG_PTR pulLastEncryptedPartLen), \
	        (hSession, pLastEncryptedPart, pulLastEncryptedPartLen)) \
	/* digests */ \
	SESSION(DigestInit, (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism), \
	        (hSession, pMechanism)) \
	SESSION(Digest, \
	        (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, \
	         CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen), \
	        (hSession, pData, ulDataLen, pDigest, pulDigestLen)) \
	SESSION(DigestUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen), \
	        (hSession, pPart, ulPartLen)) \
	SESSION(DigestKey, (CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey), (hSession, hKey)) \
	SESSION(DigestFinal, \
	        (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen), \
	        (hSession, pDigest, pulDigestLen)) \
	/* verification (a public key) */ \
	SESSION(VerifyInit, \
	        (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), \
	        (hSession, pMechanism, hKey)) \
	SESSION(Verify, \
	        (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, \
	         CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen), \
	        (hSession, pData, ulDataLen, pSignature, ulSignatureLen)) \
	SESSION(VerifyUpdate, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen), \
	        (hSession, pPart, ulPartLen)) \
	SESSION(VerifyFinal, \
	        (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen), \
	        (hSession, pSignature, ulSignatureLen)) \
	SESSION(VerifyRecoverInit, \
	        (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), \
	        (hSession, pMechanism, hKey)) \
	SESSION(VerifyRecover, \
	        (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen, \
	         CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen), \
	        (hSession, pSignature, ulSignatureLen, pData, pulDataLen)) \
	SESSION(DigestEncryptUpdate, \
	        (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen, \
	         CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen), \
	        (hSession, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen)) \
	/* random numbers, legacy parallel-function calls */ \
	SESSION(SeedRandom, (CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen), \
	        (hSession, pSeed, ulSeedLen)) \
	SESSION(GenerateRandom, \
	        (CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen), \
	        (hSession, RandomData, ulRandomLen)) \
	SESSION(GetFunctionStatus, (CK_SESSION_HANDLE hSession), (hSession)) \
	SESSION(CancelFunction, (CK_SESSION_HANDLE hSession), (hSession)) \
	/* PKCS#11 3.0: message-based encryption and verification */ \
	SESSION3(MessageEncryptInit, \
	         (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), \
	         (hSession, pMechanism, hKey)) \
	SESSION3(EncryptMessage, \
	         (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, \
	          CK_BYTE_PTR pAssociatedData, CK_ULONG ulAssociatedDataLen, \
	          CK_BYTE_PTR pPlaintext, CK_ULONG ulPlaintextLen, CK_BYTE_PTR pCiphertext, \
	          CK_ULONG_PTR pulCiphertextLen), \
	         (hSession, pParameter, ulParameterLen, pAssociatedData, ulAssociatedDataLen, \
	          pPlaintext, ulPlaintextLen, pCiphertext, pulCiphertextLen)) \
	SESSION3(EncryptMessageBegin, \
	         (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, \
	          CK_BYTE_PTR pAssociatedData, CK_ULONG ulAssociatedDataLen), \
	         (hSession, pParameter, ulParameterLen, pAssociatedData, ulAssociatedDataLen)) \
	SESSION3(EncryptMessageNext, \
	         (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, \
	          CK_BYTE_PTR pPlaintextPart, CK_ULONG ulPlaintextPartLen, \
	          CK_BYTE_PTR pCiphertextPart, CK_ULONG_PTR pulCiphertextPartLen, CK_FLAGS flags), \
	         (hSession, pParameter, ulParameterLen, pPlaintextPart, ulPlaintextPartLen, \
	          pCiphertextPart, pulCiphertextPartLen, flags)) \
	SESSION3(MessageEncryptFinal, (CK_SESSION_HANDLE hSession), (hSession)) \
	SESSION3(MessageVerifyInit, \
	         (CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), \
	         (hSession, pMechanism, hKey)) \
	SESSION3(VerifyMessage, \
	         (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, \
	          CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, \
	          CK_ULONG ulSignatureLen), \
	         (hSession, pParameter, ulParameterLen, pData, ulDataLen, pSignature, \
	          ulSignatureLen)) \
	SESSION3(VerifyMessageBegin, \
	         (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter, CK_ULONG ulParameterLen), \
	         (hSession, pParameter, ulParameterLen)) \
	SESSION3(VerifyMessageNext, \
	         (CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter, CK_ULONG ulParameterLen, \
	          CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature, \
	          CK_ULONG ulSignatureLen), \
	         (hSession, pParameter, ulParameterLen, pData, ulDataLen, pSignature, \
	          ulSignatureLen)) \
	SESSION3(MessageVerifyFinal, (CK_SESSION_HANDLE hSession), (hSession))
/* clang-format on */

#endif
