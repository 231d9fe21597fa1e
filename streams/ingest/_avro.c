/* Avro binary reading and writing driven by a schema's program: the native counterpart of the
 * functions avro_reader.py and avro_writer.py generate, with the same results and the same
 * errors (tests/unit/test_avro_reader.py and test_avro_writer.py run against both).
 *
 * Why: decoding an SmtpReply took 4.2 us and encoding a hook 2.5 us in generated Python, most of
 * it the interpreter's per-byte and per-field work; here each is a walk over a few C structs.
 *
 * A program (avro_native.py builds it from a schema) is a nested tuple:
 *   (LONG,) (STRING,) (BYTES,) (BOOLEAN,) (DOUBLE,) (FLOAT,) (NUL,)
 *   (ENUM, symbols: tuple of str, codes: dict of str to bytes)
 *   (UNION, index of null: 0 or 1, program of the other branch)
 *   (RECORD, ((name, program, has default, default, spanned), ...))
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#if PY_VERSION_HEX < 0x030B0000  /* public from 3.11 */
#define PyFloat_Pack4(x, p, le) _PyFloat_Pack4((x), (unsigned char *)(p), (le))
#define PyFloat_Pack8(x, p, le) _PyFloat_Pack8((x), (unsigned char *)(p), (le))
#define PyFloat_Unpack4(p, le) _PyFloat_Unpack4((const unsigned char *)(p), (le))
#define PyFloat_Unpack8(p, le) _PyFloat_Unpack8((const unsigned char *)(p), (le))
#endif

enum { LONG, STRING, BYTES, BOOLEAN, DOUBLE, FLOAT, NUL, ENUM, UNION, RECORD };

typedef struct Node Node;
typedef struct {
    PyObject *name;     /* interned str */
    PyObject *span;     /* "@name" when the field's byte positions are kept, else NULL */
    PyObject *fallback; /* the default a writer takes for a missing key, else NULL */
    Node *node;
} Field;

struct Node {
    int kind;
    int null_at;        /* UNION */
    Node *other;        /* UNION */
    PyObject *symbols;  /* ENUM: tuple */
    PyObject *codes;    /* ENUM: dict */
    Py_ssize_t n_fields;
    Field *fields;      /* RECORD */
};

static void node_free(Node *node) {
    if (node == NULL) return;
    node_free(node->other);
    Py_XDECREF(node->symbols);
    Py_XDECREF(node->codes);
    for (Py_ssize_t i = 0; i < node->n_fields; i++) {
        Py_XDECREF(node->fields[i].name);
        Py_XDECREF(node->fields[i].span);
        Py_XDECREF(node->fields[i].fallback);
        node_free(node->fields[i].node);
    }
    PyMem_Free(node->fields);
    PyMem_Free(node);
}

static Node *node_new(PyObject *program) {
    if (!PyTuple_Check(program) || PyTuple_GET_SIZE(program) < 1) {
        PyErr_SetString(PyExc_TypeError, "a program is a non-empty tuple");
        return NULL;
    }
    Node *node = PyMem_Calloc(1, sizeof(Node));
    if (node == NULL) return (Node *)PyErr_NoMemory();
    node->kind = (int)PyLong_AsLong(PyTuple_GET_ITEM(program, 0));
    if (node->kind == -1 && PyErr_Occurred()) goto fail;
    Py_ssize_t size = PyTuple_GET_SIZE(program);
    if (node->kind == ENUM && size == 3) {
        node->symbols = Py_NewRef(PyTuple_GET_ITEM(program, 1));
        node->codes = Py_NewRef(PyTuple_GET_ITEM(program, 2));
        if (!PyTuple_Check(node->symbols) || !PyDict_Check(node->codes)) goto bad;
    } else if (node->kind == UNION && size == 3) {
        node->null_at = (int)PyLong_AsLong(PyTuple_GET_ITEM(program, 1));
        if (node->null_at != 0 && node->null_at != 1) goto bad;
        node->other = node_new(PyTuple_GET_ITEM(program, 2));
        if (node->other == NULL) goto fail;
    } else if (node->kind == RECORD && size == 2) {
        PyObject *fields = PyTuple_GET_ITEM(program, 1);
        if (!PyTuple_Check(fields)) goto bad;
        node->fields = PyMem_Calloc(PyTuple_GET_SIZE(fields) + 1, sizeof(Field));
        if (node->fields == NULL) { PyErr_NoMemory(); goto fail; }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fields); i++) {
            PyObject *f = PyTuple_GET_ITEM(fields, i);
            if (!PyTuple_Check(f) || PyTuple_GET_SIZE(f) != 5
                    || !PyUnicode_Check(PyTuple_GET_ITEM(f, 0))) goto bad;
            Field *field = &node->fields[i];
            node->n_fields = i + 1;
            field->name = Py_NewRef(PyTuple_GET_ITEM(f, 0));
            PyUnicode_InternInPlace(&field->name);
            if (PyObject_IsTrue(PyTuple_GET_ITEM(f, 2)))
                field->fallback = Py_NewRef(PyTuple_GET_ITEM(f, 3));
            if (PyObject_IsTrue(PyTuple_GET_ITEM(f, 4))) {
                field->span = PyUnicode_FromFormat("@%U", field->name);
                if (field->span == NULL) goto fail;
            }
            field->node = node_new(PyTuple_GET_ITEM(f, 1));
            if (field->node == NULL) goto fail;
        }
    } else if (node->kind < LONG || node->kind > NUL || size != 1) {
        goto bad;
    }
    return node;
bad:
    PyErr_SetString(PyExc_ValueError, "not a program of bounceflow's Avro codec");
fail:
    node_free(node);
    return NULL;
}

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *d;
    Py_ssize_t end;
    Py_ssize_t p;
    PyObject *data;
} Input;

typedef struct {
    PyObject_HEAD
    Node *record;
    PyObject *read_error; /* avro_reader.ReadError */
    PyObject *long_tail;  /* avro_reader._long: a varint of 10 bytes, Python's ints, its errors */
} Reader;

static int ends_early(void) {
    PyErr_SetString(PyExc_IndexError, "index out of range");  /* as d[p] past the end */
    return -1;
}

static int bad(Reader *self, const char *what, Py_ssize_t p) {
    PyErr_Format(self->read_error, "%s at byte %zd", what, p);
    return -1;
}

/* A zigzag varint at in->p: into *small when it fits in 9 bytes (63 bits), else into *big. */
static int read_long(Reader *self, Input *in, long long *small, PyObject **big) {
    unsigned long long n = 0;
    Py_ssize_t p = in->p;
    for (int shift = 0; shift < 63; shift += 7, p++) {
        if (p >= in->end) return ends_early();
        unsigned char b = in->d[p];
        n |= (unsigned long long)(b & 0x7F) << shift;
        if (b < 0x80) {
            in->p = p + 1;
            *small = (long long)(n >> 1) ^ -(long long)(n & 1);
            *big = NULL;
            return 0;
        }
    }
    PyObject *got = PyObject_CallFunction(self->long_tail, "On", in->data, in->p);
    if (got == NULL) return -1;
    Py_ssize_t after = PyLong_AsSsize_t(PyTuple_GET_ITEM(got, 1));
    *big = Py_NewRef(PyTuple_GET_ITEM(got, 0));
    Py_DECREF(got);
    in->p = after;
    return 0;
}

static PyObject *read_value(Reader *self, Node *node, Input *in);

static PyObject *read_record(Reader *self, Node *node, Input *in) {
    PyObject *out = _PyDict_NewPresized(node->n_fields), *value = NULL;
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < node->n_fields; i++) {
        Field *field = &node->fields[i];
        Py_ssize_t at = in->p;
        value = read_value(self, field->node, in);
        if (value == NULL || PyDict_SetItem(out, field->name, value) < 0) goto fail;
        Py_CLEAR(value);
        if (field->span != NULL) {
            value = Py_BuildValue("(nn)", at, in->p);
            if (value == NULL) goto fail;
            if (PyDict_SetItem(out, field->span, value) < 0) goto fail;
            Py_CLEAR(value);
        }
    }
    return out;
fail:
    Py_XDECREF(value);
    Py_DECREF(out);
    return NULL;
}

static PyObject *read_value(Reader *self, Node *node, Input *in) {
    long long n;
    PyObject *big;
    switch (node->kind) {
    case LONG:
        if (read_long(self, in, &n, &big) < 0) return NULL;
        return big != NULL ? big : PyLong_FromLongLong(n);
    case STRING:
    case BYTES: {
        if (read_long(self, in, &n, &big) < 0) return NULL;
        if (big != NULL) {  /* a length of 10 bytes: negative or far past any record */
            PyObject *zero = PyLong_FromLong(0);
            int negative = zero == NULL ? -1 : PyObject_RichCompareBool(big, zero, Py_LT);
            Py_XDECREF(zero);
            Py_DECREF(big);
            if (negative < 0) return NULL;
            n = negative ? -1 : PY_SSIZE_T_MAX;
        }
        if (n < 0) return bad(self, "a negative length", in->p), NULL;
        if (n > in->end - in->p)
            return bad(self, node->kind == STRING ? "a string longer than the record"
                             : "a bytes longer than the record", in->p), NULL;
        const char *at = (const char *)in->d + in->p;
        in->p += n;
        return node->kind == STRING ? PyUnicode_DecodeUTF8(at, n, NULL)
                                    : PyBytes_FromStringAndSize(at, n);
    }
    case BOOLEAN: {
        if (in->p >= in->end) return ends_early(), NULL;
        unsigned char b = in->d[in->p];
        if (b > 1) return bad(self, "a boolean that is neither 0 nor 1", in->p), NULL;
        in->p++;
        return PyBool_FromLong(b);
    }
    case DOUBLE:
    case FLOAT: {
        Py_ssize_t size = node->kind == DOUBLE ? 8 : 4;
        if (in->end - in->p < size) {
            PyErr_Format(self->read_error, "a float or double runs past the end");
            return NULL;
        }
        const char *at = (const char *)in->d + in->p;
        in->p += size;
        double v = size == 8 ? PyFloat_Unpack8(at, 1) : PyFloat_Unpack4(at, 1);
        return v == -1.0 && PyErr_Occurred() ? NULL : PyFloat_FromDouble(v);
    }
    case NUL:
        Py_RETURN_NONE;
    case ENUM:
        if (read_long(self, in, &n, &big) < 0) return NULL;
        if (big != NULL) {
            Py_DECREF(big);
            n = -1;
        }
        if (n < 0 || n >= PyTuple_GET_SIZE(node->symbols))
            return bad(self, "an enum index out of range", in->p), NULL;
        return Py_NewRef(PyTuple_GET_ITEM(node->symbols, n));
    case UNION: {
        if (in->p >= in->end) return ends_early(), NULL;
        unsigned char b = in->d[in->p++];  /* branch indexes 0 and 1 are the bytes 0 and 2 */
        if (b == 2 * node->null_at) Py_RETURN_NONE;
        if (b == 2 * (1 - node->null_at)) return read_value(self, node->other, in);
        return bad(self, "a union index out of range", in->p - 1), NULL;
    }
    default:
        return read_record(self, node, in);
    }
}

static PyObject *Reader_call(Reader *self, PyObject *args, PyObject *kwargs) {
    PyObject *data;
    Py_ssize_t p;
    if (!PyArg_ParseTuple(args, "Sn:read", &data, &p)) return NULL;
    Input in = {(const unsigned char *)PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), p, data};
    if (p < 0 || p > in.end) return ends_early(), NULL;
    PyObject *record = read_record(self, self->record, &in);
    if (record == NULL) return NULL;
    return Py_BuildValue("(Nn)", record, in.p);
}

static int Reader_init(Reader *self, PyObject *args, PyObject *kwargs) {
    PyObject *program;
    if (!PyArg_ParseTuple(args, "OOO:Reader", &program, &self->read_error, &self->long_tail))
        return -1;
    Py_INCREF(self->read_error);
    Py_INCREF(self->long_tail);
    self->record = node_new(program);
    if (self->record == NULL) return -1;
    if (self->record->kind != RECORD) {
        PyErr_SetString(PyExc_ValueError, "a reader's program is a record's");
        return -1;
    }
    return 0;
}

static void Reader_dealloc(Reader *self) {
    node_free(self->record);
    Py_XDECREF(self->read_error);
    Py_XDECREF(self->long_tail);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject ReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "streams._avro.Reader",
    .tp_doc = "Reader(program, ReadError, long_tail)(data, start) -> (record, end)",
    .tp_basicsize = sizeof(Reader),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Reader_init,
    .tp_dealloc = (destructor)Reader_dealloc,
    .tp_call = (ternaryfunc)Reader_call,
};

/* ---- writing ---------------------------------------------------------------------------- */

typedef struct {
    char *d;
    Py_ssize_t n;
    Py_ssize_t size;
    char inline_[512];
} Output;

static int reserve(Output *out, Py_ssize_t more) {
    if (out->n + more <= out->size) return 0;
    Py_ssize_t size = out->size;
    while (size < out->n + more) size *= 2;
    char *d = out->d == out->inline_ ? PyMem_Malloc(size) : PyMem_Realloc(out->d, size);
    if (d == NULL) return PyErr_NoMemory(), -1;
    if (out->d == out->inline_) memcpy(d, out->inline_, out->n);
    out->d = d;
    out->size = size;
    return 0;
}

static int put(Output *out, const void *bytes, Py_ssize_t n) {
    if (reserve(out, n) < 0) return -1;
    memcpy(out->d + out->n, bytes, n);
    out->n += n;
    return 0;
}

static int put_long(Output *out, long long v) {
    unsigned long long n = ((unsigned long long)v << 1) ^ (unsigned long long)(v >> 63);
    if (reserve(out, 10) < 0) return -1;
    while (n >= 0x80) {
        out->d[out->n++] = (char)((n & 0x7F) | 0x80);
        n >>= 7;
    }
    out->d[out->n++] = (char)n;
    return 0;
}

static int write_value(Node *node, PyObject *x, Output *out);

static int write_record(Node *node, PyObject *r, Output *out) {
    if (!PyDict_Check(r)) {
        PyErr_Format(PyExc_TypeError, "a record is a dict, not %.100s", Py_TYPE(r)->tp_name);
        return -1;
    }
    for (Py_ssize_t i = 0; i < node->n_fields; i++) {
        Field *field = &node->fields[i];
        PyObject *x = PyDict_GetItemWithError(r, field->name);
        if (x == NULL) {
            if (PyErr_Occurred()) return -1;
            if (field->fallback == NULL) return PyErr_SetObject(PyExc_KeyError, field->name), -1;
            x = field->fallback;
        }
        if (write_value(field->node, x, out) < 0) return -1;
    }
    return 0;
}

static int write_value(Node *node, PyObject *x, Output *out) {
    switch (node->kind) {
    case LONG: {
        long long v = PyLong_AsLongLong(x);
        return v == -1 && PyErr_Occurred() ? -1 : put_long(out, v);
    }
    case STRING: {
        Py_ssize_t n;
        const char *s = PyUnicode_Check(x) ? PyUnicode_AsUTF8AndSize(x, &n) : NULL;
        if (s == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute 'encode'",
                             Py_TYPE(x)->tp_name);
            return -1;
        }
        return put_long(out, n) < 0 ? -1 : put(out, s, n);
    }
    case BYTES: {
        Py_buffer view;
        if (PyObject_GetBuffer(x, &view, PyBUF_SIMPLE) < 0) return -1;
        int rc = put_long(out, view.len) < 0 ? -1 : put(out, view.buf, view.len);
        PyBuffer_Release(&view);
        return rc;
    }
    case BOOLEAN: {
        int truth = PyObject_IsTrue(x);
        if (truth < 0) return -1;
        char b = (char)truth;
        return put(out, &b, 1);
    }
    case DOUBLE:
    case FLOAT: {
        double v = PyFloat_AsDouble(x);
        if (v == -1.0 && PyErr_Occurred()) return -1;
        if (reserve(out, 8) < 0) return -1;
        int rc = node->kind == DOUBLE ? PyFloat_Pack8(v, out->d + out->n, 1)
                                      : PyFloat_Pack4(v, out->d + out->n, 1);
        if (rc < 0) return -1;
        out->n += node->kind == DOUBLE ? 8 : 4;
        return 0;
    }
    case NUL:
        return 0;
    case ENUM: {
        PyObject *code = PyDict_GetItemWithError(node->codes, x);
        if (code == NULL) {
            if (!PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, x);
            return -1;
        }
        return put(out, PyBytes_AS_STRING(code), PyBytes_GET_SIZE(code));
    }
    case UNION: {
        char branch = (char)(2 * (x == Py_None ? node->null_at : 1 - node->null_at));
        if (put(out, &branch, 1) < 0) return -1;
        return x == Py_None ? 0 : write_value(node->other, x, out);
    }
    default:
        return write_record(node, x, out);
    }
}

static PyObject *finish(Output *out, int rc) {
    PyObject *bytes = rc < 0 ? NULL : PyBytes_FromStringAndSize(out->d, out->n);
    if (out->d != out->inline_) PyMem_Free(out->d);
    return bytes;
}

#define OUTPUT(name) Output name = {name.inline_, 0, sizeof(name.inline_), {0}}

typedef struct {
    PyObject_HEAD
    Node *node; /* a record: written from a dict; or a record whose fields are the arguments */
    int flat;
} Writer;

static PyObject *Writer_call(Writer *self, PyObject *args, PyObject *kwargs) {
    OUTPUT(out);
    if (!self->flat) {
        PyObject *record;
        if (!PyArg_ParseTuple(args, "O:write", &record)) return NULL;
        return finish(&out, write_record(self->node, record, &out));
    }
    if (PyTuple_GET_SIZE(args) != self->node->n_fields) {
        PyErr_Format(PyExc_TypeError, "the writer takes %zd values, not %zd",
                     self->node->n_fields, PyTuple_GET_SIZE(args));
        return NULL;
    }
    int rc = 0;
    for (Py_ssize_t i = 0; i < self->node->n_fields && rc == 0; i++)
        rc = write_value(self->node->fields[i].node, PyTuple_GET_ITEM(args, i), &out);
    return finish(&out, rc);
}

static int Writer_init(Writer *self, PyObject *args, PyObject *kwargs) {
    PyObject *program;
    if (!PyArg_ParseTuple(args, "Op:Writer", &program, &self->flat)) return -1;
    self->node = node_new(program);
    if (self->node == NULL) return -1;
    if (self->node->kind != RECORD) {
        PyErr_SetString(PyExc_ValueError, "a writer's program is a record's");
        return -1;
    }
    return 0;
}

static void Writer_dealloc(Writer *self) {
    node_free(self->node);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject WriterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "streams._avro.Writer",
    .tp_doc = "Writer(program, flat)(record) -> bytes; flat: Writer(...)(*values) -> bytes",
    .tp_basicsize = sizeof(Writer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Writer_init,
    .tp_dealloc = (destructor)Writer_dealloc,
    .tp_call = (ternaryfunc)Writer_call,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "streams._avro", "Avro reading and writing by a schema's program.",
    -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__avro(void) {
    if (PyType_Ready(&ReaderType) < 0 || PyType_Ready(&WriterType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    const char *kinds[] = {"LONG", "STRING", "BYTES", "BOOLEAN", "DOUBLE", "FLOAT", "NUL",
                           "ENUM", "UNION", "RECORD"};
    for (int i = 0; i <= RECORD; i++)
        if (PyModule_AddIntConstant(m, kinds[i], i) < 0) goto fail;
    if (PyModule_AddObjectRef(m, "Reader", (PyObject *)&ReaderType) < 0
            || PyModule_AddObjectRef(m, "Writer", (PyObject *)&WriterType) < 0) goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
