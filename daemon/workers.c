/* The worker pool of authguardd: a fixed number of threads, each with its
 * own handler (store connection, keys), taking jobs first come, first
 * served, and handing answers back to the I/O thread through the done
 * queue and an eventfd.  On stop, a worker finishes the job it holds (a
 * store transaction is never cut short by the daemon) and exits; jobs
 * still queued are answered with an error instead. */
#include "autoconf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

struct start {
	struct agd_server *s;
	size_t index;
};

static void
push_done(struct agd_server *s, struct agd_job *job)
{
	uint64_t one = 1;

	pthread_mutex_lock(&s->lock);
	job->next = NULL;
	if (s->done_tail != NULL)
		s->done_tail->next = job;
	else
		s->done_head = job;
	s->done_tail = job;
	pthread_mutex_unlock(&s->lock);
	while (write(s->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static const char out_of_memory[] =
	"{\"error\":\"internal\",\"message\":\"out of memory\",\"status\":3}\n";

static const char shutting_down[] =
	"{\"error\":\"internal\",\"message\":\"the daemon is stopping\",\"status\":3}\n";

static void *
run(void *arg)
{
	struct agd_server *s = ((struct start *)arg)->s;
	size_t index = ((struct start *)arg)->index;
	struct agd_worker *w = s->workers[index];
	uint64_t gen = 0;
	struct agd_job *job;
	int ok;

	free(arg);
	for (;;) {
		pthread_mutex_lock(&s->lock);
		while (s->queue_head == NULL && !s->stopping)
			pthread_cond_wait(&s->more, &s->lock);
		job = s->queue_head;
		if (job != NULL) {
			s->queue_head = job->next;
			if (s->queue_head == NULL)
				s->queue_tail = NULL;
			s->queued--;
			s->working++;
		}
		if (s->config_gen != gen) {
			gen = s->config_gen;
			pthread_mutex_unlock(&s->lock);
			agd_worker_reload(w);
		} else {
			pthread_mutex_unlock(&s->lock);
		}
		if (job == NULL)
			break; /* stopping, nothing left */
		if (s->stopping && job->line != NULL) {
			/* Not started: refused, never half done. */
			job->answer = agd_refuse_stopping(job->line, job->len, &job->alen);
			if (job->answer == NULL) {
				job->answer = strdup(shutting_down);
				job->alen = job->answer != NULL ? strlen(job->answer) : 0;
			}
		} else {
			job->answer = agd_handle(w, &job->peer, job->line, job->len, &job->alen, &ok);
			if (job->answer == NULL) {
				/* Out of memory: still an answer, so the client's
				 * requests and answers stay in step. */
				job->answer = strdup(out_of_memory);
				job->alen = job->answer != NULL ? strlen(job->answer) : 0;
				ok = 0;
			}
			pthread_mutex_lock(&s->lock);
			s->served++;
			if (!ok)
				s->errors++;
			pthread_mutex_unlock(&s->lock);
		}
		pthread_mutex_lock(&s->lock);
		s->working--;
		pthread_mutex_unlock(&s->lock);
		push_done(s, job);
	}
	return NULL;
}

int
agd_workers_start(struct agd_server *s)
{
	size_t i;

	if ((s->threads = calloc(s->nworkers, sizeof(*s->threads))) == NULL ||
	    (s->workers = calloc(s->nworkers, sizeof(*s->workers))) == NULL)
		return -1;
	for (i = 0; i < s->nworkers; i++) {
		struct start *st = malloc(sizeof(*st));

		if (st == NULL || (s->workers[i] = agd_worker_new(s, i)) == NULL) {
			free(st);
			s->nworkers = i;
			return -1;
		}
		st->s = s;
		st->index = i;
		if (pthread_create(&s->threads[i], NULL, run, st) != 0) {
			free(st);
			agd_worker_free(s->workers[i]);
			s->nworkers = i;
			return -1;
		}
	}
	return 0;
}

void
agd_workers_stop(struct agd_server *s)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_broadcast(&s->more);
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < s->nworkers; i++) {
		pthread_join(s->threads[i], NULL);
		agd_worker_free(s->workers[i]);
	}
	free(s->threads);
	free(s->workers);
	s->threads = NULL;
	s->workers = NULL;
	s->nworkers = 0;
}

void
agd_queue_job(struct agd_server *s, struct agd_job *job)
{
	pthread_mutex_lock(&s->lock);
	job->next = NULL;
	if (s->queue_tail != NULL)
		s->queue_tail->next = job;
	else
		s->queue_head = job;
	s->queue_tail = job;
	s->queued++;
	pthread_cond_signal(&s->more);
	pthread_mutex_unlock(&s->lock);
}

struct agd_job *
agd_take_done(struct agd_server *s)
{
	struct agd_job *job;

	pthread_mutex_lock(&s->lock);
	job = s->done_head;
	if (job != NULL) {
		s->done_head = job->next;
		if (s->done_head == NULL)
			s->done_tail = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	return job;
}
