#include "signals.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

/* SIGUSR2 is internal: it wakes the thread to stop. */
static const int handled[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGUSR1, SIGUSR2};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static signals_fn handler;
static void *handler_data;
static pthread_t thread;
static bool running, stopping;

static void make_set(sigset_t *set)
{
    sigemptyset(set);
    for (size_t i = 0; i < sizeof(handled) / sizeof(*handled); i++)
        sigaddset(set, handled[i]);
}

static void *signals_main(void *arg)
{
    sigset_t set;
    make_set(&set);
    for (;;) {
        int sig = sigwaitinfo(&set, NULL);
        if (sig < 0)
            continue;
        pthread_mutex_lock(&lock);
        if (stopping) {
            pthread_mutex_unlock(&lock);
            break;
        }
        if (sig != SIGUSR2 && handler)
            handler(sig, handler_data);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int signals_start(void)
{
    sigset_t set;
    make_set(&set);
    int r = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (r != 0)
        return -r;
    r = pthread_create(&thread, NULL, signals_main, NULL);
    if (r != 0)
        return -r;
    running = true;
    return 0;
}

void signals_set_handler(signals_fn fn, void *data)
{
    /* The handler runs under the lock, so after this returns the old one has finished. */
    pthread_mutex_lock(&lock);
    handler = fn;
    handler_data = data;
    pthread_mutex_unlock(&lock);
}

void signals_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&lock);
    stopping = true;
    handler = NULL;
    pthread_mutex_unlock(&lock);
    pthread_kill(thread, SIGUSR2);
    pthread_join(thread, NULL);
    running = false;
}
