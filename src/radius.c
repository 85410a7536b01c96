#include "radius.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RADIUS_FILE_MAX_LINES 4096
#define RADIUS_MAX_SERVERS    64

static int parse_port(const char *s, size_t len)
{
	int port = 0;

	if (len == 0 || len > 5)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return 0;
		port = port * 10 + (s[i] - '0');
	}
	return port <= 65535 ? port : 0;
}

int radius_split_server(const char *entry, char **ret_host, int *ret_port)
{
	static const char seps[] = ", \t"; /* radcli separates servers by any of these */
	char *first, *host, *rest, *colon;
	unsigned char addr[16];
	size_t len;
	int r = 0;

	entry += strspn(entry, seps);
	len = strcspn(entry, seps);
	first = strndup(entry, len);
	if (first == NULL)
		return ERR_NOMEM;
	host = first;
	rest = NULL;
	if (host[0] == '[') { /* [v6addr]:port:secret */
		char *close = strchr(host, ']');
		if (close == NULL) {
			r = ERR_BAD_REQUEST;
			goto out;
		}
		*close = '\0';
		host++;
		rest = close[1] == ':' ? close + 2 : NULL;
	} else if (inet_pton(AF_INET6, host, addr) != 1 && (colon = strchr(host, ':')) != NULL) {
		/* host:port:secret, and the secret may itself hold colons */
		*colon = '\0';
		rest = colon + 1;
	}
	if (*host == '\0') {
		r = ERR_BAD_REQUEST;
		goto out;
	}
	*ret_port = rest ? parse_port(rest, strcspn(rest, ":")) : 0;
	*ret_host = strdup(host);
	r = *ret_host ? 0 : ERR_NOMEM;
out:
	explicit_bzero(first, len);
	free(first);
	return r;
}

/* Split a line into its first word and the rest (trimmed). Returns false for
 * blank and comment lines. */
static bool key_value(char *line, char **key, char **value)
{
	char *p = line, *end;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return false;
	*key = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	if (*p)
		*p++ = '\0';
	while (isspace((unsigned char)*p))
		p++;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		*--end = '\0';
	*value = p;
	return true;
}

static int set_copy(char **dst, const char *v)
{
	if (*dst != NULL) /* the first occurrence wins, as in radcli */
		return 0;
	*dst = strdup(v);
	return *dst ? 0 : ERR_NOMEM;
}

static int conf_line(struct radius_info *ri, char *key, char *value, char **servers)
{
	if (strcmp(key, "nas-identifier") == 0)
		return set_copy(&ri->nas_identifier, value);
	if (strcmp(key, "servers") == 0)
		return set_copy(servers, value);
	if (strcmp(key, "authserver") == 0 && ri->auth_server == NULL)
		return radius_split_server(value, &ri->auth_server, &ri->auth_port) == ERR_NOMEM
			       ? ERR_NOMEM
			       : 0;
	if (strcmp(key, "acctserver") == 0 && ri->acct_server == NULL)
		return radius_split_server(value, &ri->acct_server, &ri->acct_port) == ERR_NOMEM
			       ? ERR_NOMEM
			       : 0;
	return 0;
}

/* A servers-file line: "server secret" or "client/server secret". */
static int servers_line(struct radius_info *ri, char *key, char *value)
{
	char *slash = strchr(key, '/');
	struct radius_server *s;

	if (ri->n_servers == RADIUS_MAX_SERVERS)
		return 0;
	if (ri->servers == NULL) {
		ri->servers = calloc(RADIUS_MAX_SERVERS, sizeof(*ri->servers));
		if (ri->servers == NULL)
			return ERR_NOMEM;
	}
	s = &ri->servers[ri->n_servers];
	s->host = strdup(slash ? slash + 1 : key);
	if (s->host == NULL)
		return ERR_NOMEM;
	s->has_secret = *value != '\0';
	ri->n_servers++;
	return 0;
}

/* Call fn for each key/value line of path; lines are wiped after use since
 * they may hold secrets. A missing file is not an error. */
static int each_line(const char *path, struct radius_info *ri, char **servers, bool is_conf)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *key, *value;
	size_t cap = 0;
	ssize_t n;
	int r = 0;

	if (f == NULL)
		return 0;
	for (int i = 0; r == 0 && i < RADIUS_FILE_MAX_LINES && (n = getline(&line, &cap, f)) >= 0;
	     i++) {
		if (key_value(line, &key, &value))
			r = is_conf ? conf_line(ri, key, value, servers)
				    : servers_line(ri, key, value);
		explicit_bzero(line, cap);
	}
	free(line);
	fclose(f);
	return r;
}

int radius_read(const char *conf_path, const char *servers_path, struct radius_info *ret)
{
	char *conf_servers = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = each_line(conf_path, ret, &conf_servers, true);
	if (r == 0) {
		const char *path = servers_path	  ? servers_path
				   : conf_servers ? conf_servers
						  : RADIUS_DEFAULT_SERVERS;
		ret->servers_file = strdup(path);
		r = ret->servers_file ? each_line(path, ret, NULL, false) : ERR_NOMEM;
	}
	free(conf_servers);
	if (r < 0)
		radius_info_free(ret);
	return r;
}

void radius_info_free(struct radius_info *ri)
{
	if (ri == NULL)
		return;
	free(ri->nas_identifier);
	free(ri->auth_server);
	free(ri->acct_server);
	free(ri->servers_file);
	for (size_t i = 0; i < ri->n_servers; i++)
		free(ri->servers[i].host);
	free(ri->servers);
	memset(ri, 0, sizeof(*ri));
}
