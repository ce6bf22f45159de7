/* signgate command: one function per subcommand, each in its own file. */
#ifndef SIGNGATE_COMMANDS_H
#define SIGNGATE_COMMANDS_H

int cmd_check(int argc, char **argv);        /* cmd_check.c */
int cmd_explain(int argc, char **argv);      /* cmd_explain.c */
int cmd_ticket(int argc, char **argv);       /* cmd_ticket.c */
int cmd_audit(int argc, char **argv);        /* cmd_audit.c */
int cmd_who_can_sign(int argc, char **argv); /* cmd_who_can_sign.c */
int cmd_inventory(int argc, char **argv);    /* cmd_inventory.c */
int cmd_credential(int argc, char **argv);   /* cmd_credential.c: hash a role credential */
int cmd_doctor(int argc, char **argv);   /* cmd_doctor.c: the deployment as the module sees it */
int cmd_state(int argc, char **argv);    /* cmd_state.c: state init/migrate/status */
int cmd_revoke(int argc, char **argv);   /* cmd_state.c: the kill switch */
int cmd_unrevoke(int argc, char **argv); /* cmd_state.c */
int cmd_test(int argc, char **argv);     /* cmd_test.c: policy regression cases */
int cmd_diff(int argc, char **argv);     /* cmd_diff.c: rights gained and lost between configs */
/* audit_cases.c: `signgate audit --to-cases FILE LOG...` (called by cmd_audit) */
int cmd_audit_to_cases(int argc, char **argv);
int cmd_id_token(int argc, char **argv); /* cmd_idtoken.c: CI identity tokens */
int cmd_approve(int argc, char **argv);  /* cmd_approve.c: make an approval */
int cmd_approval(int argc, char **argv); /* cmd_approve.c: bundle, verify */

#endif
