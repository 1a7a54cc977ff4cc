using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.DistributedData.Durable;
using Akka.Event;
using Akka.Serialization;
using LightningDB;

namespace ActorVmm.Cluster.Durable;

/// <summary>
/// Akka.DistributedData's durable store (akka.cluster.distributed-data.durable.store-actor-class) on
/// LMDB through LightningDB 0.23: the replicator loads every durable key from it at start and writes
/// each change to it before confirming the change. Akka's own Akka.DistributedData.LightningDB 1.5.73
/// is built against LightningDB 0.16, which the package mirror lacks, and fails against 0.23 at run
/// time (a cursor method it calls is gone); this follows the same protocol and on-disk layout (one
/// LMDB database "ddata", key = the ddata key id in UTF-8, value = the serialized DurableDataEnvelope),
/// but keeps the LMDB environment open for the actor's life instead of opening it per write.
/// </summary>
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "An actor's resources are released in PostStop; nothing else may dispose an actor.")]
public sealed class LmdbDurableStore : ReceiveActor
{
    /// <summary>The LMDB database the entries live in.</summary>
    public const string DatabaseName = "ddata";

    private static readonly long DefaultMapSize = 100L * 1024 * 1024;

    private readonly string _directory;
    private readonly long _mapSize;
    private readonly SerializerWithStringManifest _serializer;
    private readonly string _manifest;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private LightningEnvironment? _environment;
    private LightningDatabase? _database;

    /// <summary>Created by the replicator with its <c>durable</c> configuration section.</summary>
    public LmdbDurableStore(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var lmdb = config.GetConfig("lmdb");
        string? directory = lmdb?.GetString("dir", null);
        if (string.IsNullOrEmpty(directory))
        {
            throw new ConfigurationException("akka.cluster.distributed-data.durable.lmdb.dir must name the directory of the durable store");
        }

        _directory = Path.GetFullPath(directory);
        _mapSize = lmdb!.GetByteSize("map-size", null) ?? DefaultMapSize;
        _serializer = (SerializerWithStringManifest)Context.System.Serialization.FindSerializerForType(typeof(DurableDataEnvelope));
        _manifest = _serializer.Manifest(new DurableDataEnvelope(Akka.DistributedData.GCounter.Empty));

        Receive<LoadAll>(_ => LoadAllEntries());
    }

    /// <inheritdoc />
    protected override void PreStart()
    {
        if (LmdbNativeLibrary.Problem() is { } problem)
        {
            throw new LoadFailedException(problem);
        }

        Directory.CreateDirectory(_directory);
        var environment = new LightningEnvironment(_directory, new EnvironmentConfiguration { MapSize = _mapSize, MaxDatabases = 1 });
        try
        {
            environment.Open();
            using var transaction = environment.BeginTransaction();
            _database = transaction.OpenDatabase(DatabaseName, new DatabaseConfiguration { Flags = DatabaseOpenFlags.Create });
            transaction.Commit().ThrowOnError();
        }
        catch
        {
            // LightningDB throws from the finalizer of an environment nobody disposed.
            _database?.Dispose();
            _database = null;
            environment.Dispose();
            throw;
        }

        _environment = environment;
        _log.Info("Using durable data in LMDB directory [{0}]", _directory);
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        _database?.Dispose();
        _environment?.Dispose();
        base.PostStop();
    }

    private LightningEnvironment Environment => _environment ?? throw new InvalidOperationException("the LMDB environment is not open");

    private LightningDatabase Database => _database ?? throw new InvalidOperationException("the LMDB database is not open");

    private void LoadAllEntries()
    {
        ImmutableDictionary<string, DurableDataEnvelope> data;
        try
        {
            var entries = ImmutableDictionary.CreateBuilder<string, DurableDataEnvelope>();
            using (var transaction = Environment.BeginTransaction(TransactionBeginFlags.ReadOnly))
            using (var cursor = transaction.CreateCursor(Database))
            {
                for (var (code, key, value) = cursor.First(); code == MDBResultCode.Success; (code, key, value) = cursor.Next())
                {
                    entries[Encoding.UTF8.GetString(key.AsSpan())] = (DurableDataEnvelope)_serializer.FromBinary(value.CopyToNewArray(), _manifest);
                }
            }

            data = entries.ToImmutable();
        }
        catch (Exception ex) when (ex is LightningException or System.Runtime.Serialization.SerializationException or InvalidCastException or ArgumentException)
        {
            throw new LoadFailedException($"failed to load durable distributed data from LMDB [{_directory}]", ex);
        }

        if (data.Count > 0)
        {
            Sender.Tell(new LoadData(data));
        }

        Sender.Tell(LoadAllCompleted.Instance);
        _log.Debug("Loaded {0} durable entries from LMDB [{1}]", data.Count, _directory);
        Become(Active);
    }

    private void Active()
    {
        Receive<Store>(store =>
        {
            try
            {
                using var transaction = Environment.BeginTransaction();
                transaction.Put(Database, Encoding.UTF8.GetBytes(store.Key), _serializer.ToBinary(store.Data)).ThrowOnError();
                transaction.Commit().ThrowOnError();
            }
            catch (LightningException ex)
            {
                _log.Error(ex, "Failed to store [{0}] in LMDB [{1}]", store.Key, _directory);
                store.Reply?.ReplyTo.Tell(store.Reply.FailureMessage);
                throw;
            }

            store.Reply?.ReplyTo.Tell(store.Reply.SuccessMessage);
        });
    }
}
