/* l_sock.c - one-shot UNIX socket calls (natrig-shaper's control socket). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lua/l_aux.h"

/* seqpacket_call(path, request [, timeout_ms]) -> reply | nil, message
 * One request, one reply over a UNIX SOCK_SEQPACKET socket (natrig-shaper's control
 * socket, reached through a bind-mounted directory: no engine round trip). */
static int l_seqpacket_call(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t n;
    const char *req = luaL_checklstring(L, 2, &n);
    int timeout = (int)luaL_optinteger(L, 3, 2000), fd, r;
    struct sockaddr_un sa;
    struct pollfd p;
    char buf[4096];
    ssize_t got;

    if (strlen(path) >= sizeof sa.sun_path) {
        lua_pushnil(L);
        lua_pushfstring(L, "socket path too long: %s", path);
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        send(fd, req, n, MSG_NOSIGNAL) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(e));
        return 2;
    }
    p.fd = fd;
    p.events = POLLIN;
    do
        r = poll(&p, 1, timeout);
    while (r < 0 && errno == EINTR);
    got = r > 0 ? recv(fd, buf, sizeof buf, 0) : -1;
    close(fd);
    if (got < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "no reply from %s within %d ms", path, timeout);
        return 2;
    }
    lua_pushlstring(L, buf, (size_t)got);
    return 1;
}

static const luaL_Reg sock_funcs[] = {
    {"seqpacket_call", l_seqpacket_call},
    {NULL, NULL},
};

void l_sock_open(lua_State *L)
{
    /* stack: mod */
    luaL_setfuncs(L, sock_funcs, 0);
}
