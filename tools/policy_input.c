/* signgate tools: read a config or a cases file from any path (see policy_input.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy_input.h"

char *policy_input_read(const char *path, size_t *len, char *err, size_t errlen)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : dup(0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		if (n == cap) {
			if (cap >= POLICY_INPUT_MAX) {
				snprintf(err, errlen, "%s: larger than %u MiB", path,
				         POLICY_INPUT_MAX >> 20);
				goto fail;
			}
			cap *= 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb)
				break;
			buf = nb;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0) {
			close(fd);
			buf[n] = '\0';
			if (memchr(buf, '\0', n)) {
				/* config_load_string() would stop at it and check less
				 * than the file holds. */
				snprintf(err, errlen, "%s: NUL byte in file", path);
				free(buf);
				return NULL;
			}
			if (len)
				*len = n;
			return buf;
		}
		n += (size_t)r;
	}
	snprintf(err, errlen, "%s: out of memory", path);
fail:
	free(buf);
	close(fd);
	return NULL;
}

config_t *policy_input_config(const char *path, char *err, size_t errlen)
{
	char *text = policy_input_read(path, NULL, err, errlen);
	if (!text)
		return NULL;
	config_t *cfg = config_load_string(text, path, err, errlen);
	free(text);
	return cfg;
}
