using System.Reflection;
using System.Reflection.Emit;
using Iced.Intel;
using Label = System.Reflection.Emit.Label;

namespace ActorVmm.Emulator.Cpu;

/// <summary>Block translation: compiles a guest basic block to a <see cref="DynamicMethod"/> that RyuJIT turns into machine code.</summary>
internal sealed partial class X86Core
{
    /// <summary>
    /// Emits the IL of one block. The guest registers the block uses live in IL locals (machine registers after
    /// RyuJIT) and RFLAGS in one more; they are written back to the core before anything that calls out (memory,
    /// stack, port I/O: it can fault, dispatch a trap, or a handler can look at the core) and at every exit.
    /// Status flags are computed only where a later instruction of the block, an exit or a call-out can see them
    /// (backward liveness over the block), with the same formulas as the interpreter (<see cref="AluFlags"/>).
    /// Instructions retired and the batch budget are advanced before each call-out and at each exit, so a fault
    /// leaves them as the interpreter would. A block whose final branch targets its own entry loops inside the
    /// method, checking the budget on each pass (exit requests zero it), so it never runs unbounded.
    /// </summary>
    private sealed class BlockCompiler
    {
        private static readonly FieldInfo GprField = Field(nameof(Gpr));
        private static readonly FieldInfo FlagsField = Field(nameof(Flags));
        private static readonly FieldInfo RipField = Field(nameof(Rip));
        private static readonly FieldInfo InstrStartField = Field(nameof(_instrStart));
        private static readonly FieldInfo BudgetField = Field(nameof(_budget));
        private static readonly FieldInfo RetiredField = Field(nameof(_retired));
        private static readonly FieldInfo SegField = Field(nameof(Seg));
        private static readonly FieldInfo CodeField = Field(nameof(_code));
        private static readonly FieldInfo SegmentBaseField = typeof(Segment).GetField(nameof(Segment.Base))!;
        private static readonly MethodInfo ReadLinearMethod = Method(nameof(ReadLinear), typeof(ulong), typeof(int));
        private static readonly FieldInfo HostTlbBaseField = Field(nameof(_hostTlbBase));
        private static readonly FieldInfo UserAccessField = Field(nameof(_userAccess));
        private static readonly MethodInfo WriteLinearMethod = Method(nameof(WriteLinear), typeof(ulong), typeof(int), typeof(ulong));
        private static readonly MethodInfo PushMethod = Method(nameof(Push), typeof(ulong), typeof(int));
        private static readonly MethodInfo PopMethod = Method(nameof(Pop), typeof(int));
        private static readonly MethodInfo AdjustStackMethod = Method(nameof(AdjustStack), typeof(ulong));
        private static readonly MethodInfo CheckIoPermissionMethod = Method(nameof(CheckIoPermission), typeof(ushort), typeof(int));
        private static readonly MethodInfo PortReadMethod = Method(nameof(PortRead), typeof(ushort), typeof(int));
        private static readonly MethodInfo PortWriteMethod = Method(nameof(PortWrite), typeof(ushort), typeof(int), typeof(ulong));
        private static readonly MethodInfo InterpretMethod = typeof(X86Core).GetMethod(nameof(InterpretInBlock), BindingFlags.Instance | BindingFlags.NonPublic)!;
        private static readonly MethodInfo GenerationMethod = typeof(CodePageTracker).GetMethod(nameof(CodePageTracker.Generation))!;
        private static readonly MethodInfo AddFlagsMethod = typeof(AluFlags).GetMethod(nameof(AluFlags.Add))!;
        private static readonly MethodInfo SubFlagsMethod = typeof(AluFlags).GetMethod(nameof(AluFlags.Sub))!;
        private static readonly MethodInfo SzpMethod = typeof(AluFlags).GetMethod(nameof(AluFlags.Szp))!;
        private static readonly MethodInfo IncDecFlagsMethod = typeof(AluFlags).GetMethod(nameof(AluFlags.IncDec))!;
        private static readonly MethodInfo ShiftLeftFlagsMethod = typeof(AluFlags).GetMethod(nameof(AluFlags.ShiftLeft))!;
        private static readonly MethodInfo ShiftRightFlagsMethod = typeof(AluFlags).GetMethod(nameof(AluFlags.ShiftRight))!;
        private static readonly MethodInfo ShiftArithmeticFlagsMethod = typeof(AluFlags).GetMethod(nameof(AluFlags.ShiftArithmetic))!;
        private static readonly MethodInfo RotateLeftFlagsMethod = typeof(AluFlags).GetMethod(nameof(AluFlags.RotateLeft))!;
        private static readonly MethodInfo RotateRightFlagsMethod = typeof(AluFlags).GetMethod(nameof(AluFlags.RotateRight))!;
        private static readonly MethodInfo MultiplyFlagsMethod = typeof(AluFlags).GetMethod(nameof(AluFlags.MultiplyTruncating))!;
        private static readonly MethodInfo ConditionMethod = typeof(AluFlags).GetMethod(nameof(AluFlags.Condition))!;

        private readonly ILGenerator _il;
        private readonly IReadOnlyList<Instruction> _code;
        private readonly BlockShape[] _shapes;
        private readonly int[] _interpretedIndex;
        private readonly int _bitness;
        private readonly ulong _ipMask;
        private readonly ulong _entry;
        private readonly int _page;
        private readonly int _generation;
        private readonly LocalBuilder?[] _reg = new LocalBuilder?[16];
        private readonly bool[] _written = new bool[16];
        private readonly bool[] _dirty = new bool[16];
        private bool _flagsDirty;
        private readonly InstructionInfoFactory _info = new();
        private readonly LocalBuilder _flags;
        private readonly LocalBuilder _a;
        private readonly LocalBuilder _b;
        private readonly LocalBuilder _r;
        private readonly LocalBuilder _count;
        private readonly LocalBuilder _status;
        private readonly LocalBuilder _loadAddress;
        private readonly LocalBuilder _tlbBase;
        private readonly LocalBuilder _hostEntry;
        private readonly LocalBuilder _storeValue;
        private readonly LocalBuilder _loaded;
        private readonly LocalBuilder _calledOut;
        private readonly LocalBuilder _lazyA;
        private readonly LocalBuilder _lazyB;
        private readonly LocalBuilder _lazyR;
        private readonly Label _top;
        private readonly Label _leaveAsIs;
        private bool _flagsWritten;
        private int _pending;
        private int _lazy = -1;
        private int _finalLazy = -1;
        private readonly Dictionary<int, ulong> _sideExitProducers = [];
        private ulong[] _liveOnTrace = [];
        private int _current;
        private ulong _lazyMask;
        private bool _lazyPending;
        private ulong _liveAtTop;

        private BlockCompiler(DynamicMethod method, IReadOnlyList<Instruction> code, BlockShape[] shapes, int[] interpretedIndex, int bitness, int page, int generation)
        {
            _il = method.GetILGenerator();
            _code = code;
            _shapes = shapes;
            _interpretedIndex = interpretedIndex;
            _bitness = bitness;
            _ipMask = bitness switch { 64 => ulong.MaxValue, 32 => 0xFFFF_FFFF, _ => 0xFFFF };
            _entry = code[0].IP;
            _page = page;
            _generation = generation;
            _flags = _il.DeclareLocal(typeof(ulong));
            _a = _il.DeclareLocal(typeof(ulong));
            _b = _il.DeclareLocal(typeof(ulong));
            _r = _il.DeclareLocal(typeof(ulong));
            _count = _il.DeclareLocal(typeof(int));
            _status = _il.DeclareLocal(typeof(ulong));
            _loadAddress = _il.DeclareLocal(typeof(ulong));
            _tlbBase = _il.DeclareLocal(typeof(nint));
            _hostEntry = _il.DeclareLocal(typeof(nint));
            _storeValue = _il.DeclareLocal(typeof(ulong));
            _loaded = _il.DeclareLocal(typeof(ulong));
            _calledOut = _il.DeclareLocal(typeof(int));
            _lazyA = _il.DeclareLocal(typeof(ulong));
            _lazyB = _il.DeclareLocal(typeof(ulong));
            _lazyR = _il.DeclareLocal(typeof(ulong));
            _top = _il.DefineLabel();
            _leaveAsIs = _il.DefineLabel();
        }

        /// <summary>Compiles <paramref name="code"/> (decoded at their real addresses, all on one page) to a block body.</summary>
        /// <remarks>
        /// The method's first argument is the block's own array of the instructions it hands to the interpreter,
        /// bound into the delegate (a closed delegate also skips the shuffle thunk an open static one needs); the
        /// core is the second.
        /// </remarks>
        public static Func<X86Core, int> Compile(IReadOnlyList<Instruction> code, int bitness, int page, int generation)
        {
            var shapes = new BlockShape[code.Count];
            var interpretedIndex = new int[code.Count];
            var interpreted = new List<CachedInstruction>();
            for (int i = 0; i < code.Count; i++)
            {
                shapes[i] = ShapeOf(code[i]);
                interpretedIndex[i] = -1;
                if (shapes[i].Op is BlockOp.Interpret or BlockOp.InterpretBranch)
                {
                    interpretedIndex[i] = interpreted.Count;
                    interpreted.Add(CachedInstruction.From(code[i]));
                }
            }

            var method = new DynamicMethod($"guest_block_{code[0].IP:X}", typeof(int), [typeof(CachedInstruction[]), typeof(X86Core)], typeof(X86Core), skipVisibility: true);
            new BlockCompiler(method, code, shapes, interpretedIndex, bitness, page, generation).Emit();
            return method.CreateDelegate<Func<X86Core, int>>(interpreted.ToArray());
        }

        private static FieldInfo Field(string name) =>
            typeof(X86Core).GetField(name, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
            ?? throw new MissingFieldException(nameof(X86Core), name);

        private static MethodInfo Method(string name, params Type[] parameters) =>
            typeof(X86Core).GetMethod(name, BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public, parameters)
            ?? throw new MissingMethodException(nameof(X86Core), name);

        private void Emit()
        {
            ulong[] computed = FlagsToCompute();
            ChooseLazyProducer(computed);
            ChooseSideExitProducers();
            CollectRegisters();

            // Called without a core, the body returns at once: the compiler thread calls it so to have RyuJIT compile it there.
            var withCore = _il.DefineLabel();
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Brtrue, withCore);
            _il.Emit(OpCodes.Ldc_I4, TranslatedBlock.ExitOther);
            _il.Emit(OpCodes.Ret);
            _il.MarkLabel(withCore);
            for (int r = 0; r < 16; r++)
            {
                if (_reg[r] is { } local)
                {
                    LoadCoreGpr(r);
                    _il.Emit(OpCodes.Stloc, local);
                }
            }

            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, FlagsField);
            _il.Emit(OpCodes.Stloc, _flags);
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, HostTlbBaseField);
            _il.Emit(OpCodes.Stloc, _tlbBase);
            _il.MarkLabel(_top);

            // The self-loop's back edge arrives here with whatever the block wrote still in locals.
            Array.Copy(_written, _dirty, _dirty.Length);
            _flagsDirty = _flagsWritten;
            for (int i = 0; i < _code.Count; i++)
            {
                _pending++;
                _current = i;
                EmitInstruction(i, computed[i]);
            }

            var last = _code[^1];
            if (!_shapes[^1].EndsBlock)
            {
                EmitExit(last.NextIP & _ipMask, TranslatedBlock.ExitFallThrough);
            }

            // Where an interpreted instruction leaves the block: it ran with everything written back and re-read, so
            // the core already holds the state and the RIP to go on at.
            _il.MarkLabel(_leaveAsIs);
            _il.Emit(OpCodes.Ldc_I4, TranslatedBlock.ExitOther);
            _il.Emit(OpCodes.Ret);
        }

        /// <summary>Backward liveness: for each instruction, the flags it writes that something after it can see.</summary>
        private ulong[] FlagsToCompute()
        {
            var computed = new ulong[_code.Count];
            _liveOnTrace = new ulong[_code.Count];
            ulong live = RFlags.Status;
            for (int i = _code.Count - 1; i >= 0; i--)
            {
                _liveOnTrace[i] = live;
                live |= SideExitFlags(i);
                computed[i] = _shapes[i].FlagsWritten & live;
                live = (live & ~_shapes[i].FlagsWritten) | _shapes[i].FlagsRead;
                _flagsWritten |= computed[i] != 0;
            }

            // What a pass entering at the top reads before defining it (call-outs read all): a self-loop's back edge
            // must have these exact, the exits need the rest.
            _liveAtTop = 0;
            for (int i = _code.Count - 1; i >= 0; i--)
            {
                _liveAtTop = ((_liveAtTop | SideExitFlags(i)) & ~_shapes[i].FlagsWritten) | _shapes[i].FlagsRead;
            }

            return computed;
        }

        /// <summary>Every status flag at a branch inside a trace (its other edge leaves the block), else none.</summary>
        private ulong SideExitFlags(int i) => i < _code.Count - 1 && _shapes[i].EndsBlock ? RFlags.Status : 0;

        /// <summary>
        /// Lazy flags for the block's last flag producer: when only the final branch (and the exits) can see its
        /// flags, it keeps its operands and result in locals, the branch tests them directly (ZF as result == 0, CF of
        /// a compare as a &lt; b, ...), and the flags are computed only on the paths that leave the block — not on
        /// a self-loop's back edge unless the next pass reads them first.
        /// </summary>
        private void ChooseLazyProducer(ulong[] computed)
        {
            int last = _code.Count - 1;
            if (!_shapes[last].EndsBlock)
            {
                return;
            }

            int producer = Array.FindLastIndex(computed, mask => mask != 0);
            if (producer < 0 || _shapes[producer].Op is not (BlockOp.Alu or BlockOp.AluMemory or BlockOp.IncDec or BlockOp.IncDecMemory))
            {
                return;
            }

            for (int i = producer + 1; i < last; i++)
            {
                if (_shapes[i].CallsOut || _shapes[i].FlagsRead != 0)
                {
                    return;
                }
            }

            bool direct = _shapes[last].FlagsRead == 0
                || (_shapes[last].Op == BlockOp.Jcc && CanTestDirectly(_code[producer].Mnemonic, _code[last].ConditionCode));
            if (direct)
            {
                _finalLazy = producer;
            }
        }

        /// <summary>
        /// Lazy flags at a trace's inner conditional branch too: when the flag producer right before it (nothing
        /// between them reads or writes flags or calls out) can be tested directly, the branch tests its operands and
        /// result, the trace computes only the flags it needs further on (<see cref="_liveOnTrace"/>), and the
        /// producer's flags are computed in full only on the side exit's path.
        /// </summary>
        private void ChooseSideExitProducers()
        {
            for (int branch = 1; branch < _code.Count - 1; branch++)
            {
                if (_shapes[branch].Op != BlockOp.Jcc)
                {
                    continue;
                }

                int producer = branch - 1;
                while (producer >= 0 && _shapes[producer].FlagsWritten == 0 && _shapes[producer].FlagsRead == 0 && !_shapes[producer].CallsOut)
                {
                    producer--;
                }

                if (producer >= 0 && _shapes[producer].Op is BlockOp.Alu or BlockOp.IncDec
                    && CanTestDirectly(_code[producer].Mnemonic, _code[branch].ConditionCode))
                {
                    _sideExitProducers[producer] = _shapes[producer].FlagsWritten & _liveOnTrace[branch];
                }
            }
        }

        private static bool CanTestDirectly(Mnemonic producer, ConditionCode cc)
        {
            if (cc is ConditionCode.e or ConditionCode.ne or ConditionCode.s or ConditionCode.ns)
            {
                return producer is not (Mnemonic.Adc or Mnemonic.Sbb);
            }

            if (cc is ConditionCode.o or ConditionCode.no or ConditionCode.p or ConditionCode.np)
            {
                return false;
            }

            return producer is Mnemonic.Sub or Mnemonic.Cmp or Mnemonic.And or Mnemonic.Or or Mnemonic.Xor or Mnemonic.Test;
        }

        private void CollectRegisters()
        {
            for (int i = 0; i < _code.Count; i++)
            {
                var ins = _code[i];
                for (int op = 0; op < ins.OpCount; op++)
                {
                    if (ins.GetOpKind(op) == OpKind.Register && ins.GetOpRegister(op).IsGPR())
                    {
                        int slot = Slot(ins.GetOpRegister(op));
                        Use(slot);
                        bool writes = op == 0 && _shapes[i].Op is not BlockOp.Out and not BlockOp.Push
                            && ins.Mnemonic is not Mnemonic.Cmp and not Mnemonic.Test;
                        _written[slot] |= writes;
                    }
                    else if (ins.GetOpKind(op) == OpKind.Memory)
                    {
                        if (ins.MemoryBase.IsGPR())
                        {
                            Use(Slot(ins.MemoryBase));
                        }

                        if (ins.MemoryIndex.IsGPR())
                        {
                            Use(Slot(ins.MemoryIndex));
                        }
                    }
                }

                switch (_shapes[i].Op)
                {
                    case BlockOp.In:
                    case BlockOp.Out:
                        Use(RAX);
                        Use(RDX);
                        _written[RAX] |= _shapes[i].Op == BlockOp.In;
                        break;
                    case BlockOp.Loop:
                    case BlockOp.JumpIfCounterZero:
                        Use(RCX);
                        _written[RCX] |= _shapes[i].Op == BlockOp.Loop;
                        break;
                    case BlockOp.Push:
                    case BlockOp.Pop:
                    case BlockOp.Call:
                    case BlockOp.Ret:
                        Use(RSP);
                        break;
                }
            }
        }

        private void Use(int slot) => _reg[slot] ??= _il.DeclareLocal(typeof(ulong));

        /// <summary>
        /// Whether the instruction calls out of the block itself — the interpreter inside the block, or a memory access
        /// only on a host-TLB miss (<see cref="EmitHostGuarded"/>) — rather than from a call-out begun before it.
        /// </summary>
        private static bool CallsOutItself(BlockOp op) =>
            op is BlockOp.Interpret or BlockOp.InterpretBranch or BlockOp.Load or BlockOp.ExtendLoad or BlockOp.Store
                or BlockOp.AluMemory or BlockOp.IncDecMemory or BlockOp.MultiplyLoad or BlockOp.ConditionalMoveLoad;

        private static int Slot(Register register) => RegisterTable.Index[(int)register] & 15;

        private void EmitInstruction(int i, ulong computeFlags)
        {
            var ins = _code[i];
            var shape = _shapes[i];
            ulong next = ins.NextIP & _ipMask;
            if (shape.CallsOut && !CallsOutItself(shape.Op))
            {
                BeginCallOut(ins.IP, next);
            }

            switch (shape.Op)
            {
                case BlockOp.Alu:
                    EmitAlu(ins, computeFlags);
                    break;
                case BlockOp.AluMemory:
                    EmitAlu(ins, computeFlags);
                    EmitCalledOutCheck(next);
                    break;
                case BlockOp.IncDec:
                    EmitIncDec(ins, computeFlags);
                    break;
                case BlockOp.IncDecMemory:
                    EmitIncDec(ins, computeFlags);
                    EmitCalledOutCheck(next);
                    break;
                case BlockOp.Unary:
                    EmitUnary(ins, computeFlags);
                    break;
                case BlockOp.Shift:
                    EmitShift(ins, computeFlags);
                    break;
                case BlockOp.Multiply:
                    EmitMultiply(ins, computeFlags);
                    break;
                case BlockOp.MultiplyLoad:
                    EmitMultiply(ins, computeFlags);
                    EmitCalledOutCheck(next);
                    break;
                case BlockOp.SetCondition:
                    EmitCondition(ins.ConditionCode);
                    _il.Emit(OpCodes.Conv_U8);
                    StoreRegister(ins.Op0Register);
                    break;
                case BlockOp.ConditionalMove:
                    EmitConditionalMove(ins);
                    break;
                case BlockOp.ConditionalMoveLoad:
                    EmitConditionalMove(ins);
                    EmitCalledOutCheck(next);
                    break;
                case BlockOp.MovRegister:
                    EmitSource(ins, 1, RegisterTable.Size[(int)ins.Op0Register]);
                    StoreRegister(ins.Op0Register);
                    break;
                case BlockOp.Lea:
                    EmitEffectiveOffset(ins);
                    StoreRegister(ins.Op0Register);
                    break;
                case BlockOp.Extend:
                    LoadRegister(ins.Op1Register);
                    ExtendSource(ins, RegisterTable.Size[(int)ins.Op1Register]);
                    StoreRegister(ins.Op0Register);
                    break;
                case BlockOp.ExtendLoad:
                {
                    int size = ins.MemorySize.GetSize();
                    var load = ins;
                    EmitGuardedLoad(ins, size, () =>
                    {
                        ExtendSource(load, size);
                        StoreRegister(load.Op0Register);
                    });
                    break;
                }

                case BlockOp.Load:
                {
                    var load = ins;
                    EmitGuardedLoad(ins, RegisterTable.Size[(int)ins.Op0Register], () => StoreRegister(load.Op0Register));
                    break;
                }
                case BlockOp.Store:
                    EmitGuardedStore(ins, ins.MemorySize.GetSize());
                    break;

                case BlockOp.Push:
                {
                    int size = -ins.StackPointerIncrement;
                    _il.Emit(OpCodes.Ldarg_1);
                    EmitSource(ins, 0, size);
                    _il.Emit(OpCodes.Ldc_I4, size);
                    _il.Emit(OpCodes.Call, PushMethod);
                    ReloadGpr(RSP);
                    EndCallOut(next);
                    break;
                }

                case BlockOp.Pop:
                    _il.Emit(OpCodes.Ldarg_1);
                    _il.Emit(OpCodes.Ldc_I4, ins.StackPointerIncrement);
                    _il.Emit(OpCodes.Call, PopMethod);
                    _il.Emit(OpCodes.Stloc, _r);
                    ReloadGpr(RSP);
                    _il.Emit(OpCodes.Ldloc, _r);
                    StoreRegister(ins.Op0Register);
                    EndCallOut(next);
                    break;
                case BlockOp.Call:
                    _il.Emit(OpCodes.Ldarg_1);
                    _il.Emit(OpCodes.Ldc_I8, (long)next);
                    _il.Emit(OpCodes.Ldc_I4, -ins.StackPointerIncrement);
                    _il.Emit(OpCodes.Call, PushMethod);
                    ReloadGpr(RSP);
                    EmitExit(BranchTargetOf(ins), TranslatedBlock.ExitTaken);
                    break;
                case BlockOp.Ret:
                    EmitRet(ins);
                    break;
                case BlockOp.In:
                    EmitIn(ins);
                    EndCallOut(next);
                    break;
                case BlockOp.Out:
                    EmitOut(ins);
                    EndCallOut(next);
                    break;
                case BlockOp.Jcc:
                    if (_lazyPending)
                    {
                        EmitDirectCondition(ins.ConditionCode);
                    }
                    else
                    {
                        EmitCondition(ins.ConditionCode);
                    }

                    if (i == _code.Count - 1)
                    {
                        EmitBranch(ins, next);
                    }
                    else
                    {
                        EmitSideExit(ins, next, _code[i + 1].IP);

                        // The side exit took the producer's full flags with it; the trace computed what it needs.
                        _lazyPending = false;
                    }

                    break;
                case BlockOp.Jmp:
                    // Inside a trace the jump is where the code goes on: nothing to emit.
                    if (i == _code.Count - 1)
                    {
                        EmitJumpTo(BranchTargetOf(ins));
                    }

                    break;
                case BlockOp.Loop:
                    EmitLoop(ins, next);
                    break;
                case BlockOp.JumpIfCounterZero:
                {
                    int size = ins.Mnemonic == Mnemonic.Jcxz ? 2 : ins.Mnemonic == Mnemonic.Jecxz ? 4 : 8;
                    _il.Emit(OpCodes.Ldloc, _reg[RCX]!);
                    Truncate(size);
                    _il.Emit(OpCodes.Ldc_I4_0);
                    _il.Emit(OpCodes.Conv_U8);
                    _il.Emit(OpCodes.Ceq);
                    EmitBranch(ins, next);
                    break;
                }

                case BlockOp.Nop:
                    break;
                case BlockOp.Interpret:
                    EmitInterpret(i, next);
                    _il.Emit(OpCodes.Brfalse, _leaveAsIs);
                    break;
                case BlockOp.InterpretBranch:
                    EmitInterpret(i, next);
                    _il.Emit(OpCodes.Pop);
                    _il.Emit(OpCodes.Br, _leaveAsIs);
                    break;
                default:
                    throw new InvalidOperationException($"No translation for '{ins}'");
            }
        }

        /// <summary>
        /// Runs instruction <paramref name="i"/> through the interpreter with the block's changed registers and flags
        /// written back first (the pending count goes with the call, which takes it, so the IL stays short: RyuJIT's
        /// time grows with it), then re-reads the registers the instruction writes and RFLAGS. Leaves on the IL stack
        /// whether the block may go on (<see cref="InterpretInBlock"/>).
        /// </summary>
        private void EmitInterpret(int i, ulong next)
        {
            FlushRegisters();
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldc_I4, _interpretedIndex[i]);
            _il.Emit(OpCodes.Ldelema, typeof(CachedInstruction));
            _il.Emit(OpCodes.Ldc_I8, (long)_code[i].IP);
            _il.Emit(OpCodes.Ldc_I8, (long)next);
            _il.Emit(OpCodes.Ldc_I4, _pending);
            _il.Emit(OpCodes.Ldc_I4, _page);
            _il.Emit(OpCodes.Ldc_I4, _generation);
            _il.Emit(OpCodes.Call, InterpretMethod);
            _pending = 0;
            foreach (var used in _info.GetInfo(_code[i]).GetUsedRegisters())
            {
                var register = used.Register.GetFullRegister();
                if (register.IsGPR() && used.Access is OpAccess.Write or OpAccess.CondWrite or OpAccess.ReadWrite or OpAccess.ReadCondWrite
                    && _reg[Slot(register)] is not null)
                {
                    ReloadGpr(Slot(register));
                }
            }

            // All of RFLAGS, always: the local holds the system bits too, and Iced's flag metadata covers only some.
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, FlagsField);
            _il.Emit(OpCodes.Stloc, _flags);
        }

        /// <summary>
        /// A group-1 ALU op. With a memory destination the address is computed once, read, and (but for CMP/TEST)
        /// written back as the interpreter's non-LOCK path does; a memory source is read once. Both go through the
        /// core's ReadLinear/WriteLinear inside the call-out the shape declares.
        /// </summary>
        private void EmitAlu(in Instruction ins, ulong computeFlags)
        {
            int size = AluSize(ins);
            var mnemonic = ins.Mnemonic;
            LoadDestination(ins, size);
            _il.Emit(OpCodes.Stloc, _a);
            EmitOperand(ins, 1, size);
            _il.Emit(OpCodes.Stloc, _b);
            bool withCarry = mnemonic is Mnemonic.Adc or Mnemonic.Sbb;
            _il.Emit(OpCodes.Ldloc, _a);
            _il.Emit(OpCodes.Ldloc, _b);
            switch (mnemonic)
            {
                case Mnemonic.Add:
                case Mnemonic.Adc:
                    _il.Emit(OpCodes.Add);
                    break;
                case Mnemonic.Sub:
                case Mnemonic.Sbb:
                case Mnemonic.Cmp:
                    _il.Emit(OpCodes.Sub);
                    break;
                case Mnemonic.And:
                case Mnemonic.Test:
                    _il.Emit(OpCodes.And);
                    break;
                case Mnemonic.Or:
                    _il.Emit(OpCodes.Or);
                    break;
                default:
                    _il.Emit(OpCodes.Xor);
                    break;
            }

            if (withCarry)
            {
                LoadCarry();
                _il.Emit(mnemonic == Mnemonic.Adc ? OpCodes.Add : OpCodes.Sub);
            }

            Truncate(size);
            _il.Emit(OpCodes.Stloc, _r);
            ulong now = FlagsNow(computeFlags);
            if (now != 0)
            {
                EmitAluFlags(mnemonic, size, now);
            }

            if (mnemonic is not Mnemonic.Cmp and not Mnemonic.Test)
            {
                StoreDestination(ins, size);
            }
        }

        /// <summary>
        /// Pushes a read-modify-write destination: its register, or memory read by a guarded load with the address
        /// kept for <see cref="StoreDestination"/>.
        /// </summary>
        private void LoadDestination(in Instruction ins, int size)
        {
            if (ins.Op0Kind != OpKind.Memory)
            {
                LoadRegister(ins.Op0Register);
                return;
            }

            EmitGuardedRead(ins, size);
        }

        /// <summary>Writes the result local back to the destination <see cref="LoadDestination"/> read (memory: by a guarded store to the same address).</summary>
        private void StoreDestination(in Instruction ins, int size)
        {
            if (ins.Op0Kind != OpKind.Memory)
            {
                _il.Emit(OpCodes.Ldloc, _r);
                StoreRegister(ins.Op0Register);
                return;
            }

            _il.Emit(OpCodes.Ldloc, _r);
            _il.Emit(OpCodes.Stloc, _storeValue);
            EmitGuardedStoreAt(ins, size);
        }

        /// <summary>NOT (no flags) or NEG of a GPR: NEG is SUB from 0 with its flags (as the interpreter's Arith does it).</summary>
        private void EmitUnary(in Instruction ins, ulong computeFlags)
        {
            int size = RegisterTable.Size[(int)ins.Op0Register];
            bool negate = ins.Mnemonic == Mnemonic.Neg;
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Stloc, _a);
            LoadRegister(ins.Op0Register);
            _il.Emit(OpCodes.Stloc, _b);
            _il.Emit(OpCodes.Ldloc, _b);
            _il.Emit(negate ? OpCodes.Neg : OpCodes.Not);
            Truncate(size);
            _il.Emit(OpCodes.Stloc, _r);
            if (negate && computeFlags != 0)
            {
                EmitAluFlags(Mnemonic.Sub, size, computeFlags);
            }

            _il.Emit(OpCodes.Ldloc, _r);
            StoreRegister(ins.Op0Register);
        }

        /// <summary>The operand size of an ALU op or INC/DEC: its register's, else its memory operand's.</summary>
        private static int AluSize(in Instruction ins) =>
            ins.Op0Kind == OpKind.Register ? RegisterTable.Size[(int)ins.Op0Register] : ins.MemorySize.GetSize();

        /// <summary>Pushes operand <paramref name="operand"/> (a GPR, an immediate or a plain memory operand, read by a guarded load).</summary>
        private void EmitOperand(in Instruction ins, int operand, int size)
        {
            if (ins.GetOpKind(operand) == OpKind.Memory)
            {
                EmitGuardedRead(ins, size);
            }
            else
            {
                EmitSource(ins, operand, size);
            }
        }

        /// <summary>
        /// Pushes the memory operand's value read by a guarded load (see <see cref="EmitHostGuarded"/>), its address
        /// left in <see cref="_loadAddress"/>. The IL stack must be empty: the paths join with the value in a local.
        /// </summary>
        private void EmitGuardedRead(in Instruction ins, int size)
        {
            EmitGuardedLoad(ins, size, () => _il.Emit(OpCodes.Stloc, _loaded), endsInstruction: false);
            _il.Emit(OpCodes.Ldloc, _loaded);
        }

        /// <summary>
        /// A load whose value <paramref name="consume"/> takes from the stack: inline through the host TLB on a hit,
        /// else through <see cref="ReadLinear"/> (see <see cref="EmitHostGuarded"/>).
        /// </summary>
        private void EmitGuardedLoad(in Instruction ins, int size, Action consume, bool endsInstruction = true)
        {
            EmitLinear(ins);
            _il.Emit(OpCodes.Stloc, _loadAddress);
            EmitHostGuarded(ins.IP, ins.NextIP & _ipMask, endsInstruction, miss =>
            {
                EmitHostRead(size, miss);
                consume();
            }, () =>
            {
                _il.Emit(OpCodes.Ldarg_1);
                _il.Emit(OpCodes.Ldloc, _loadAddress);
                _il.Emit(OpCodes.Ldc_I4, size);
                _il.Emit(OpCodes.Call, ReadLinearMethod);
                consume();
            });
        }

        /// <summary>A store: inline through the host TLB on a hit, else through <see cref="WriteLinear"/> (see <see cref="EmitHostGuarded"/>).</summary>
        private void EmitGuardedStore(in Instruction ins, int size)
        {
            EmitSource(ins, 1, size);
            _il.Emit(OpCodes.Stloc, _storeValue);
            EmitLinear(ins);
            _il.Emit(OpCodes.Stloc, _loadAddress);
            EmitGuardedStoreAt(ins, size);
        }

        /// <summary>Stores <see cref="_storeValue"/> at <see cref="_loadAddress"/>, guarded as <see cref="EmitGuardedStore"/>.</summary>
        private void EmitGuardedStoreAt(in Instruction ins, int size)
        {
            EmitHostGuarded(ins.IP, ins.NextIP & _ipMask, endsInstruction: true, miss => EmitHostWrite(size, miss), () =>
            {
                _il.Emit(OpCodes.Ldarg_1);
                _il.Emit(OpCodes.Ldloc, _loadAddress);
                _il.Emit(OpCodes.Ldc_I4, size);
                _il.Emit(OpCodes.Ldloc, _storeValue);
                _il.Emit(OpCodes.Call, WriteLinearMethod);
            });
        }

        /// <summary>
        /// A memory access in two paths. <paramref name="fast"/> checks the host TLB (branching to the label it is given
        /// on a miss) and does the access inline: on a RAM page already accessed so in this access mode nothing can
        /// fault, trap or write code, so nothing is written back first. <paramref name="slow"/> is the call-out: state
        /// written back before, the budget and the block's page checked after, and then the pending instruction count
        /// put back, so both paths leave the rest of the block the same state (the fast path's registers not written
        /// back, a superset of the slow path's). An access that does not end its instruction (a memory operand read
        /// before the operation) must not leave the block half done: its slow path only notes the call-out in
        /// <see cref="_calledOut"/>, and <see cref="EmitCalledOutCheck"/> checks after the instruction. Lazy flags are
        /// computed first, so both paths start with the same flags.
        /// </summary>
        private void EmitHostGuarded(ulong start, ulong next, bool endsInstruction, Action<Label> fast, Action slow)
        {
            MaterializeLazyFlags();
            var miss = _il.DefineLabel();
            var done = _il.DefineLabel();
            bool[] entryDirty = [.. _dirty];
            bool entryFlagsDirty = _flagsDirty;
            int entryPending = _pending;
            fast(miss);
            bool[] fastDirty = [.. _dirty];
            bool fastFlagsDirty = _flagsDirty;
            _il.Emit(OpCodes.Br, done);

            _il.MarkLabel(miss);
            entryDirty.CopyTo(_dirty, 0);
            _flagsDirty = entryFlagsDirty;
            _pending = entryPending;
            BeginCallOut(start, next);
            slow();
            if (endsInstruction)
            {
                EndCallOut(next);
            }
            else
            {
                _il.Emit(OpCodes.Ldc_I4_1);
                _il.Emit(OpCodes.Stloc, _calledOut);
            }

            FlushCounts(-entryPending);
            fastDirty.CopyTo(_dirty, 0);
            _flagsDirty = fastFlagsDirty;
            _pending = entryPending;
            _il.MarkLabel(done);
        }

        /// <summary>After an instruction whose memory operand read may have called out: the checks of <see cref="EndCallOut"/>, if it did.</summary>
        private void EmitCalledOutCheck(ulong next)
        {
            var skip = _il.DefineLabel();
            _il.Emit(OpCodes.Ldloc, _calledOut);
            _il.Emit(OpCodes.Brfalse, skip);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Stloc, _calledOut);
            EndCallOut(next);
            _il.MarkLabel(skip);
        }

        /// <summary>Pushes the <paramref name="size"/>-byte value at <see cref="_loadAddress"/> read through the host TLB, or branches to <paramref name="miss"/>.</summary>
        private void EmitHostRead(int size, Label miss)
        {
            EmitHostTagCheck(ReadTagOffset, size, miss);
            EmitHostAddress(ReadAddendOffset);
            _il.Emit(OpCodes.Unaligned, (byte)1);
            _il.Emit(size switch { 1 => OpCodes.Ldind_U1, 2 => OpCodes.Ldind_U2, 4 => OpCodes.Ldind_U4, _ => OpCodes.Ldind_I8 });
            if (size != 8)
            {
                _il.Emit(OpCodes.Conv_U8);
            }
        }

        /// <summary>
        /// Writes <see cref="_storeValue"/> at <see cref="_loadAddress"/> through the host TLB, or branches to
        /// <paramref name="miss"/>: also when the page holds decoded code (the block's own page always does), whose
        /// store the call-out tells the code tracker about and, for the own page, leaves the block after.
        /// </summary>
        private void EmitHostWrite(int size, Label miss)
        {
            EmitHostTagCheck(WriteTagOffset, size, miss);
            _il.Emit(OpCodes.Ldloc, _hostEntry);
            _il.Emit(OpCodes.Ldc_I4, WriteCodeFlagOffset);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Ldind_I);
            _il.Emit(OpCodes.Ldind_U1);
            _il.Emit(OpCodes.Brtrue, miss);
            EmitHostAddress(WriteAddendOffset);
            _il.Emit(OpCodes.Ldloc, _storeValue);
            _il.Emit(OpCodes.Unaligned, (byte)1);
            _il.Emit(size switch { 1 => OpCodes.Stind_I1, 2 => OpCodes.Stind_I2, 4 => OpCodes.Stind_I4, _ => OpCodes.Stind_I8 });
        }

        /// <summary>
        /// Keeps the address of the host-TLB entry of <see cref="_loadAddress"/> in <see cref="_hostEntry"/>, then
        /// branches to <paramref name="miss"/> unless the tag at <paramref name="tagOffset"/> holds the address's page
        /// in the current access mode, ((vpn &lt;&lt; 1) | (_userAccess &amp; 1)) + 1, and a <paramref name="size"/>-byte
        /// access stays inside the page.
        /// </summary>
        private void EmitHostTagCheck(int tagOffset, int size, Label miss)
        {
            _il.Emit(OpCodes.Ldloc, _tlbBase);
            _il.Emit(OpCodes.Ldloc, _loadAddress);
            _il.Emit(OpCodes.Ldc_I4_S, (sbyte)(12 - HostTlbEntryShift));
            _il.Emit(OpCodes.Shr_Un);
            _il.Emit(OpCodes.Ldc_I8, (long)(HostTlbEntries - 1) << HostTlbEntryShift);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Conv_I);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stloc, _hostEntry);

            _il.Emit(OpCodes.Ldloc, _hostEntry);
            if (tagOffset != 0)
            {
                _il.Emit(OpCodes.Ldc_I4, tagOffset);
                _il.Emit(OpCodes.Add);
            }

            _il.Emit(OpCodes.Ldind_I8);
            _il.Emit(OpCodes.Ldloc, _loadAddress);
            _il.Emit(OpCodes.Ldc_I4_S, (sbyte)11);
            _il.Emit(OpCodes.Shr_Un);
            _il.Emit(OpCodes.Ldc_I8, ~1L);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, UserAccessField);
            _il.Emit(OpCodes.Ldc_I4_1);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Or);
            _il.Emit(OpCodes.Ldc_I8, 1L);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Bne_Un, miss);
            _il.Emit(OpCodes.Ldloc, _loadAddress);
            _il.Emit(OpCodes.Ldc_I8, 0xFFFL);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Ldc_I8, (long)(CodePage.Size - size));
            _il.Emit(OpCodes.Bgt_Un, miss);
        }

        /// <summary>Pushes the host address of <see cref="_loadAddress"/>: it plus the entry's addend at <paramref name="addendOffset"/>.</summary>
        private void EmitHostAddress(int addendOffset)
        {
            _il.Emit(OpCodes.Ldloc, _loadAddress);
            _il.Emit(OpCodes.Conv_I);
            _il.Emit(OpCodes.Ldloc, _hostEntry);
            _il.Emit(OpCodes.Ldc_I4, addendOffset);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Ldind_I);
            _il.Emit(OpCodes.Add);
        }

        /// <summary>Pushes whether condition <paramref name="cc"/> holds on the flags local.</summary>
        private void EmitCondition(ConditionCode cc)
        {
            _il.Emit(OpCodes.Ldloc, _flags);
            _il.Emit(OpCodes.Ldc_I4, (int)cc);
            _il.Emit(OpCodes.Call, ConditionMethod);
        }

        /// <summary>
        /// SHL/SHR/SAR/ROL/ROR of a GPR by an immediate, or SHL/SHR/SAR by CL: the result inline, the flags (where
        /// live) from <see cref="AluFlags"/> as the interpreter's ShiftRotate takes them. A count that masks to 0
        /// leaves every flag alone (known at compile time for an immediate, tested at run time for CL) but still
        /// writes the register back, which zero-extends a 32-bit one as the interpreter's WriteReg does.
        /// </summary>
        private void EmitShift(in Instruction ins, ulong computeFlags)
        {
            var register = ins.Op0Register;
            int size = RegisterTable.Size[(int)register];
            int bits = size * 8;
            var mnemonic = ins.Mnemonic;
            bool byCl = ins.Op1Kind == OpKind.Register;
            int count = byCl ? -1 : ImmediateShiftCount(ins);
            LoadRegister(register);
            _il.Emit(OpCodes.Stloc, _a);
            if (byCl)
            {
                _il.Emit(OpCodes.Ldloc, _reg[RCX]!);
                _il.Emit(OpCodes.Conv_I4);
                _il.Emit(OpCodes.Ldc_I4, size == 8 ? 0x3F : 0x1F);
                _il.Emit(OpCodes.And);
                _il.Emit(OpCodes.Stloc, _count);
            }

            void LoadCount()
            {
                if (byCl)
                {
                    _il.Emit(OpCodes.Ldloc, _count);
                }
                else
                {
                    _il.Emit(OpCodes.Ldc_I4, count);
                }
            }

            switch (mnemonic)
            {
                case Mnemonic.Shl:
                case Mnemonic.Sal:
                    // Counts stay below 64, so the IL shift is defined; bits past the width are truncated away.
                    _il.Emit(OpCodes.Ldloc, _a);
                    LoadCount();
                    _il.Emit(OpCodes.Shl);
                    Truncate(size);
                    break;
                case Mnemonic.Shr:
                    _il.Emit(OpCodes.Ldloc, _a);
                    LoadCount();
                    _il.Emit(OpCodes.Shr_Un);
                    break;
                case Mnemonic.Sar:
                    _il.Emit(OpCodes.Ldloc, _a);
                    SignExtend(size);
                    LoadCount();
                    _il.Emit(OpCodes.Shr);
                    Truncate(size);
                    break;
                default:
                    EmitRotate(mnemonic == Mnemonic.Rol, count % bits, size);
                    break;
            }

            _il.Emit(OpCodes.Stloc, _r);
            if (computeFlags != 0)
            {
                var unchanged = _il.DefineLabel();
                if (byCl)
                {
                    _il.Emit(OpCodes.Ldloc, _count);
                    _il.Emit(OpCodes.Brfalse, unchanged);
                }

                BeginFlags();
                if (mnemonic is Mnemonic.Rol or Mnemonic.Ror)
                {
                    _il.Emit(OpCodes.Ldloc, _r);
                    _il.Emit(OpCodes.Ldc_I4, bits);
                    _il.Emit(OpCodes.Call, mnemonic == Mnemonic.Rol ? RotateLeftFlagsMethod : RotateRightFlagsMethod);
                }
                else
                {
                    _il.Emit(OpCodes.Ldloc, _a);
                    _il.Emit(OpCodes.Ldloc, _r);
                    LoadCount();
                    _il.Emit(OpCodes.Ldc_I4, bits);
                    _il.Emit(OpCodes.Call, mnemonic switch
                    {
                        Mnemonic.Shr => ShiftRightFlagsMethod,
                        Mnemonic.Sar => ShiftArithmeticFlagsMethod,
                        _ => ShiftLeftFlagsMethod,
                    });
                }

                EndFlags(computeFlags);
                _il.MarkLabel(unchanged);
            }

            _il.Emit(OpCodes.Ldloc, _r);
            StoreRegister(register);
        }

        /// <summary>Pushes _a rotated by <paramref name="n"/> (the count modulo the width, known at compile time).</summary>
        private void EmitRotate(bool left, int n, int size)
        {
            _il.Emit(OpCodes.Ldloc, _a);
            if (n == 0)
            {
                return;
            }

            _il.Emit(OpCodes.Ldc_I4, n);
            _il.Emit(left ? OpCodes.Shl : OpCodes.Shr_Un);
            _il.Emit(OpCodes.Ldloc, _a);
            _il.Emit(OpCodes.Ldc_I4, (size * 8) - n);
            _il.Emit(left ? OpCodes.Shr_Un : OpCodes.Shl);
            _il.Emit(OpCodes.Or);
            Truncate(size);
        }

        /// <summary>Two/three-operand IMUL (register or memory source): the low half of the product inline (the same signed or unsigned), flags from <see cref="AluFlags"/>.</summary>
        private void EmitMultiply(in Instruction ins, ulong computeFlags)
        {
            int size = RegisterTable.Size[(int)ins.Op0Register];
            if (ins.OpCount == 3)
            {
                EmitOperand(ins, 1, size);
                _il.Emit(OpCodes.Stloc, _a);
                EmitSource(ins, 2, size);
            }
            else
            {
                LoadRegister(ins.Op0Register);
                _il.Emit(OpCodes.Stloc, _a);
                EmitOperand(ins, 1, size);
            }

            _il.Emit(OpCodes.Stloc, _b);
            _il.Emit(OpCodes.Ldloc, _a);
            _il.Emit(OpCodes.Ldloc, _b);
            _il.Emit(OpCodes.Mul);
            Truncate(size);
            _il.Emit(OpCodes.Stloc, _r);
            if (computeFlags != 0)
            {
                BeginFlags();
                _il.Emit(OpCodes.Ldloc, _a);
                _il.Emit(OpCodes.Ldloc, _b);
                _il.Emit(OpCodes.Ldloc, _r);
                _il.Emit(OpCodes.Ldc_I4, size * 8);
                _il.Emit(OpCodes.Call, MultiplyFlagsMethod);
                EndFlags(computeFlags);
            }

            _il.Emit(OpCodes.Ldloc, _r);
            StoreRegister(ins.Op0Register);
        }

        /// <summary>
        /// CMOVcc: the source is read first (memory always, as the CPU does), then the destination is written either
        /// way, so a 32-bit destination is zero-extended even when the condition is false.
        /// </summary>
        private void EmitConditionalMove(in Instruction ins)
        {
            int size = RegisterTable.Size[(int)ins.Op0Register];
            EmitOperand(ins, 1, size);
            _il.Emit(OpCodes.Stloc, _b);
            LoadRegister(ins.Op0Register);
            _il.Emit(OpCodes.Stloc, _r);
            var keep = _il.DefineLabel();
            EmitCondition(ins.ConditionCode);
            _il.Emit(OpCodes.Brfalse, keep);
            _il.Emit(OpCodes.Ldloc, _b);
            _il.Emit(OpCodes.Stloc, _r);
            _il.MarkLabel(keep);
            _il.Emit(OpCodes.Ldloc, _r);
            StoreRegister(ins.Op0Register);
        }

        /// <summary>
        /// The flags of <paramref name="computeFlags"/> to compute now. A lazy producer keeps a, b and the result for
        /// the branch that tests them directly and for the paths that leave the block, and computes none now (the
        /// block's last producer) or only those the trace needs past its side exit's branch.
        /// </summary>
        private ulong FlagsNow(ulong computeFlags)
        {
            ulong now = 0;
            if (computeFlags == 0 || (_current != _finalLazy && !_sideExitProducers.TryGetValue(_current, out now)))
            {
                return computeFlags;
            }

            _lazy = _current;
            _lazyMask = computeFlags;
            _il.Emit(OpCodes.Ldloc, _a);
            _il.Emit(OpCodes.Stloc, _lazyA);
            _il.Emit(OpCodes.Ldloc, _b);
            _il.Emit(OpCodes.Stloc, _lazyB);
            _il.Emit(OpCodes.Ldloc, _r);
            _il.Emit(OpCodes.Stloc, _lazyR);
            _lazyPending = true;
            return now;
        }

        /// <summary>Merges the status flags of an ALU op on _a, _b, _r under <paramref name="computeFlags"/> into the flags local.</summary>
        private void EmitAluFlags(Mnemonic mnemonic, int size, ulong computeFlags)
        {
            bool withCarry = mnemonic is Mnemonic.Adc or Mnemonic.Sbb;
            if (mnemonic is Mnemonic.And or Mnemonic.Or or Mnemonic.Xor or Mnemonic.Test
                && (computeFlags & (RFlags.SF | RFlags.ZF | RFlags.PF)) == 0)
            {
                // Only CF/OF/AF wanted, and a logic op clears them.
                _il.Emit(OpCodes.Ldloc, _flags);
                _il.Emit(OpCodes.Ldc_I8, (long)~computeFlags);
                _il.Emit(OpCodes.And);
                _il.Emit(OpCodes.Stloc, _flags);
                _flagsDirty = true;
                return;
            }

            BeginFlags();
            switch (mnemonic)
            {
                case Mnemonic.Add:
                case Mnemonic.Adc:
                case Mnemonic.Sub:
                case Mnemonic.Sbb:
                case Mnemonic.Cmp:
                    _il.Emit(OpCodes.Ldloc, _a);
                    _il.Emit(OpCodes.Ldloc, _b);
                    _il.Emit(OpCodes.Ldloc, _r);
                    _il.Emit(OpCodes.Ldc_I8, (long)SignBit[size]);
                    if (withCarry)
                    {
                        LoadCarry();
                    }
                    else
                    {
                        _il.Emit(OpCodes.Ldc_I4_0);
                        _il.Emit(OpCodes.Conv_U8);
                    }

                    _il.Emit(OpCodes.Call, mnemonic is Mnemonic.Add or Mnemonic.Adc ? AddFlagsMethod : SubFlagsMethod);
                    break;
                default:
                    _il.Emit(OpCodes.Ldloc, _r);
                    _il.Emit(OpCodes.Ldc_I8, (long)SignBit[size]);
                    _il.Emit(OpCodes.Call, SzpMethod);
                    break;
            }

            EndFlags(computeFlags);
        }

        /// <summary>INC/DEC of a register, or of memory (read and written back through the core, as the interpreter's non-LOCK path).</summary>
        private void EmitIncDec(in Instruction ins, ulong computeFlags)
        {
            int size = AluSize(ins);
            bool increment = ins.Mnemonic == Mnemonic.Inc;
            LoadDestination(ins, size);
            _il.Emit(OpCodes.Stloc, _a);
            _il.Emit(OpCodes.Ldloc, _a);
            _il.Emit(OpCodes.Ldc_I4_1);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(increment ? OpCodes.Add : OpCodes.Sub);
            Truncate(size);
            _il.Emit(OpCodes.Stloc, _r);
            ulong now = FlagsNow(computeFlags);
            if (now != 0)
            {
                EmitIncDecFlags(increment, size, now);
            }

            StoreDestination(ins, size);
        }

        private void EmitIncDecFlags(bool increment, int size, ulong computeFlags)
        {
            BeginFlags();
            _il.Emit(OpCodes.Ldloc, _a);
            _il.Emit(OpCodes.Ldloc, _r);
            _il.Emit(OpCodes.Ldc_I8, (long)SignBit[size]);
            _il.Emit(increment ? OpCodes.Ldc_I4_1 : OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Call, IncDecFlagsMethod);
            EndFlags(computeFlags);
        }

        /// <summary>Computes the lazy producer's flags into the flags local (on a path that leaves the block or needs them).</summary>
        private void MaterializeLazyFlags()
        {
            if (!_lazyPending)
            {
                return;
            }

            var ins = _code[_lazy];
            int size = AluSize(ins);
            _il.Emit(OpCodes.Ldloc, _lazyA);
            _il.Emit(OpCodes.Stloc, _a);
            _il.Emit(OpCodes.Ldloc, _lazyB);
            _il.Emit(OpCodes.Stloc, _b);
            _il.Emit(OpCodes.Ldloc, _lazyR);
            _il.Emit(OpCodes.Stloc, _r);
            if (_shapes[_lazy].Op is BlockOp.IncDec or BlockOp.IncDecMemory)
            {
                EmitIncDecFlags(ins.Mnemonic == Mnemonic.Inc, size, _lazyMask);
            }
            else
            {
                EmitAluFlags(ins.Mnemonic, size, _lazyMask);
            }
        }

        /// <summary>Pushes whether <paramref name="cc"/> holds, tested on the lazy producer's operands and result.</summary>
        private void EmitDirectCondition(ConditionCode cc)
        {
            var producer = _code[_lazy];
            int size = AluSize(producer);
            bool logic = producer.Mnemonic is Mnemonic.And or Mnemonic.Or or Mnemonic.Xor or Mnemonic.Test;
            switch (cc)
            {
                case ConditionCode.e:
                case ConditionCode.ne:
                    ResultIsZero();
                    break;
                case ConditionCode.s:
                case ConditionCode.ns:
                    ResultIsNegative(size);
                    break;
                case ConditionCode.b:
                case ConditionCode.ae:
                    if (logic)
                    {
                        _il.Emit(OpCodes.Ldc_I4_0);
                    }
                    else
                    {
                        _il.Emit(OpCodes.Ldloc, _lazyA);
                        _il.Emit(OpCodes.Ldloc, _lazyB);
                        _il.Emit(OpCodes.Clt_Un);
                    }

                    break;
                case ConditionCode.be:
                case ConditionCode.a:
                    if (logic)
                    {
                        ResultIsZero();
                    }
                    else
                    {
                        _il.Emit(OpCodes.Ldloc, _lazyA);
                        _il.Emit(OpCodes.Ldloc, _lazyB);
                        _il.Emit(OpCodes.Cgt_Un);
                        Not();
                    }

                    break;
                case ConditionCode.l:
                case ConditionCode.ge:
                    if (logic)
                    {
                        ResultIsNegative(size);
                    }
                    else
                    {
                        SignedOperands(size);
                        _il.Emit(OpCodes.Clt);
                    }

                    break;
                default:
                    // le / g
                    if (logic)
                    {
                        ResultIsZero();
                        ResultIsNegative(size);
                        _il.Emit(OpCodes.Or);
                    }
                    else
                    {
                        SignedOperands(size);
                        _il.Emit(OpCodes.Cgt);
                        Not();
                    }

                    break;
            }

            // Odd condition codes are the negations of the even ones (Iced's order follows the x86 encoding).
            if (cc is ConditionCode.ne or ConditionCode.ns or ConditionCode.ae or ConditionCode.a or ConditionCode.ge or ConditionCode.g)
            {
                Not();
            }
        }

        private void ResultIsZero()
        {
            _il.Emit(OpCodes.Ldloc, _lazyR);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Ceq);
        }

        private void ResultIsNegative(int size)
        {
            _il.Emit(OpCodes.Ldloc, _lazyR);
            _il.Emit(OpCodes.Ldc_I8, (long)SignBit[size]);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Cgt_Un);
        }

        /// <summary>Pushes the lazy producer's a and b sign-extended from the operand size.</summary>
        private void SignedOperands(int size)
        {
            foreach (var local in (ReadOnlySpan<LocalBuilder>)[_lazyA, _lazyB])
            {
                _il.Emit(OpCodes.Ldloc, local);
                SignExtend(size);
            }
        }

        private void Not()
        {
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Ceq);
        }

        /// <summary>Pushes <c>flags &amp; ~mask</c>; <see cref="EndFlags"/> ors in the new status bits under the mask.</summary>
        private void BeginFlags() => _il.Emit(OpCodes.Ldloc, _flags);

        private void EndFlags(ulong mask)
        {
            _il.Emit(OpCodes.Ldc_I8, (long)mask);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Stloc, _status);
            _il.Emit(OpCodes.Ldc_I8, (long)~mask);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Ldloc, _status);
            _il.Emit(OpCodes.Or);
            _il.Emit(OpCodes.Stloc, _flags);
            _flagsDirty = true;
        }

        private void LoadCarry()
        {
            _il.Emit(OpCodes.Ldloc, _flags);
            _il.Emit(OpCodes.Ldc_I4_1);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.And);
        }

        private void EmitLoop(in Instruction ins, ulong next)
        {
            int size = LoopCounterSize(ins.Code);
            _il.Emit(OpCodes.Ldloc, _reg[RCX]!);
            _il.Emit(OpCodes.Ldc_I4_1);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Sub);
            Truncate(size);
            _il.Emit(OpCodes.Stloc, _r);
            _il.Emit(OpCodes.Ldloc, _r);
            StoreGpr(RCX, size);

            // taken = count != 0 && (LOOP || ZF matches LOOPE/LOOPNE)
            var notTaken = _il.DefineLabel();
            _il.Emit(OpCodes.Ldloc, _r);
            _il.Emit(OpCodes.Brfalse, notTaken);
            if (ins.Mnemonic != Mnemonic.Loop)
            {
                _il.Emit(OpCodes.Ldloc, _flags);
                _il.Emit(OpCodes.Ldc_I8, (long)RFlags.ZF);
                _il.Emit(OpCodes.And);
                _il.Emit(ins.Mnemonic == Mnemonic.Loope ? OpCodes.Brfalse : OpCodes.Brtrue, notTaken);
            }

            EmitJumpTo(BranchTargetOf(ins));
            _il.MarkLabel(notTaken);
            EmitExit(next, TranslatedBlock.ExitFallThrough);
        }

        /// <summary>With a bool on the stack: taken goes to the branch target, else falls through.</summary>
        private void EmitBranch(in Instruction ins, ulong next)
        {
            var notTaken = _il.DefineLabel();
            _il.Emit(OpCodes.Brfalse, notTaken);
            EmitJumpTo(BranchTargetOf(ins));
            _il.MarkLabel(notTaken);
            EmitExit(next, TranslatedBlock.ExitFallThrough);
        }

        /// <summary>
        /// A conditional branch inside a trace: the trace goes on at <paramref name="onTrace"/> (its target or its
        /// fall-through); the other edge leaves the block as <see cref="TranslatedBlock.ExitSide"/>, linked as the
        /// other exits are (a trace has one such branch, <see cref="DecodeBlock"/>).
        /// </summary>
        private void EmitSideExit(in Instruction ins, ulong next, ulong onTrace)
        {
            ulong target = BranchTargetOf(ins);
            if (target == next)
            {
                _il.Emit(OpCodes.Pop);
                return;
            }

            var stay = _il.DefineLabel();
            _il.Emit(onTrace == target ? OpCodes.Brtrue : OpCodes.Brfalse, stay);
            EmitExit(onTrace == target ? next : target, TranslatedBlock.ExitSide);
            _il.MarkLabel(stay);
        }

        /// <summary>A taken edge: back to the top of the method when it targets the block's own entry, else an exit.</summary>
        private void EmitJumpTo(ulong target)
        {
            if (target != _entry)
            {
                EmitExit(target, TranslatedBlock.ExitTaken);
                return;
            }

            // Self-loop: registers stay in locals; account the pass and go round while the batch has budget.
            if (_liveAtTop != 0)
            {
                MaterializeLazyFlags();
            }

            int pending = _pending;
            FlushCounts(pending);
            var stop = _il.DefineLabel();
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, BudgetField);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Ble, stop);
            _il.Emit(OpCodes.Br, _top);
            _il.MarkLabel(stop);
            _pending = 0;
            EmitExit(target, TranslatedBlock.ExitTaken);
            _pending = pending;
        }

        private void EmitRet(in Instruction ins)
        {
            int size = ins.Op0Kind == OpKind.Immediate16 ? ins.StackPointerIncrement - ins.Immediate16 : ins.StackPointerIncrement;
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldc_I4, size);
            _il.Emit(OpCodes.Call, PopMethod);
            _il.Emit(OpCodes.Stloc, _r);
            if (ins.Op0Kind == OpKind.Immediate16)
            {
                _il.Emit(OpCodes.Ldarg_1);
                _il.Emit(OpCodes.Ldc_I8, (long)ins.Immediate16);
                _il.Emit(OpCodes.Call, AdjustStackMethod);
            }

            ReloadGpr(RSP);
            FlushState();
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldloc, _r);
            _il.Emit(OpCodes.Ldc_I8, (long)_ipMask);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Stfld, RipField);
            _il.Emit(OpCodes.Ldc_I4, TranslatedBlock.ExitOther);
            _il.Emit(OpCodes.Ret);
        }

        private void EmitIn(in Instruction ins)
        {
            int size = ins.Op0Register.GetSize();
            EmitIoPermissionCheck(ins.Op1Kind == OpKind.Register, ins.Op1Kind == OpKind.Register ? 0 : ins.Immediate8, size);
            _il.Emit(OpCodes.Ldarg_1);
            EmitPort(ins.Op1Kind == OpKind.Register, ins.Op1Kind == OpKind.Register ? 0 : ins.Immediate8);
            _il.Emit(OpCodes.Ldc_I4, size);
            _il.Emit(OpCodes.Call, PortReadMethod);
            StoreGpr(RAX, size);
        }

        private void EmitOut(in Instruction ins)
        {
            int size = ins.Op1Register.GetSize();
            EmitIoPermissionCheck(ins.Op0Kind == OpKind.Register, ins.Op0Kind == OpKind.Register ? 0 : ins.Immediate8, size);
            _il.Emit(OpCodes.Ldarg_1);
            EmitPort(ins.Op0Kind == OpKind.Register, ins.Op0Kind == OpKind.Register ? 0 : ins.Immediate8);
            _il.Emit(OpCodes.Ldc_I4, size);
            _il.Emit(OpCodes.Ldloc, _reg[RAX]!);
            Truncate(size);
            _il.Emit(OpCodes.Call, PortWriteMethod);
        }

        /// <summary>The interpreter's IOPL / I/O-bitmap check (#GP at CPL &gt; IOPL without the bitmap's leave), before the access.</summary>
        private void EmitIoPermissionCheck(bool fromDx, int port, int size)
        {
            _il.Emit(OpCodes.Ldarg_1);
            EmitPort(fromDx, port);
            _il.Emit(OpCodes.Ldc_I4, size);
            _il.Emit(OpCodes.Call, CheckIoPermissionMethod);
        }

        private void EmitPort(bool fromDx, int port)
        {
            if (fromDx)
            {
                _il.Emit(OpCodes.Ldloc, _reg[RDX]!);
                _il.Emit(OpCodes.Conv_U2);
            }
            else
            {
                _il.Emit(OpCodes.Ldc_I4, port);
            }
        }

        /// <summary>Pushes operand <paramref name="operand"/> (a GPR or an immediate) as a ulong of <paramref name="size"/> bytes.</summary>
        private void EmitSource(in Instruction ins, int operand, int size)
        {
            if (ins.GetOpKind(operand) == OpKind.Register)
            {
                LoadRegister(ins.GetOpRegister(operand));
                return;
            }

            ulong value = ins.GetImmediate(operand);
            _il.Emit(OpCodes.Ldc_I8, (long)(value & SizeMask[size]));
        }

        /// <summary>Pushes the linear address of the memory operand (as <see cref="MemoryLinear"/> computes it).</summary>
        private void EmitLinear(in Instruction ins)
        {
            EmitEffectiveOffset(ins);
            int segment = (int)ins.MemorySegment - (int)Register.ES;
            if (_bitness != 64 || segment >= FS)
            {
                _il.Emit(OpCodes.Ldarg_1);
                _il.Emit(OpCodes.Ldfld, SegField);
                _il.Emit(OpCodes.Ldc_I4, segment);
                _il.Emit(OpCodes.Ldelema, typeof(Segment));
                _il.Emit(OpCodes.Ldfld, SegmentBaseField);
                _il.Emit(OpCodes.Add);
            }

            if (_bitness != 64)
            {
                Truncate(4);
            }
        }

        /// <summary>Pushes the memory operand's offset wrapped to the address size (as <see cref="EffectiveOffset"/>).</summary>
        private void EmitEffectiveOffset(in Instruction ins)
        {
            var baseRegister = ins.MemoryBase;
            ulong displacement = ins.MemoryDisplacement64;
            if (baseRegister == Register.RIP || baseRegister == Register.EIP)
            {
                // Decoded at its real address: Iced's displacement is already the absolute target.
                _il.Emit(OpCodes.Ldc_I8, (long)(baseRegister == Register.EIP ? displacement & 0xFFFF_FFFF : displacement));
                return;
            }

            int addressSize;
            _il.Emit(OpCodes.Ldc_I8, (long)displacement);
            if (baseRegister != Register.None)
            {
                _il.Emit(OpCodes.Ldloc, _reg[Slot(baseRegister)]!);
                _il.Emit(OpCodes.Add);
                addressSize = RegisterTable.Size[(int)baseRegister];
            }
            else
            {
                addressSize = ins.MemoryDisplSize;
            }

            var index = ins.MemoryIndex;
            if (index != Register.None)
            {
                _il.Emit(OpCodes.Ldloc, _reg[Slot(index)]!);
                _il.Emit(OpCodes.Ldc_I8, (long)ins.MemoryIndexScale);
                _il.Emit(OpCodes.Mul);
                _il.Emit(OpCodes.Add);
                addressSize = RegisterTable.Size[(int)index];
            }

            int wrap = addressSize switch
            {
                2 => 2,
                8 => 8,
                1 => _bitness == 64 ? 8 : _bitness == 32 ? 4 : 2,
                _ => 4,
            };
            Truncate(wrap);
        }

        /// <summary>Pushes a GPR operand's value (AH-style high bytes included), zero-extended to 64 bits.</summary>
        private void LoadRegister(Register register)
        {
            int r = (int)register;
            _il.Emit(OpCodes.Ldloc, _reg[RegisterTable.Index[r] & 15]!);
            if (RegisterTable.High8[r])
            {
                _il.Emit(OpCodes.Ldc_I4_8);
                _il.Emit(OpCodes.Shr_Un);
            }

            Truncate(RegisterTable.Size[r]);
        }

        /// <summary>Pops a value into a GPR operand with x86's partial-register rules (as <see cref="WriteReg"/>).</summary>
        private void StoreRegister(Register register)
        {
            int r = (int)register;
            int slot = RegisterTable.Index[r] & 15;
            if (RegisterTable.High8[r])
            {
                var local = _reg[slot]!;
                _il.Emit(OpCodes.Conv_U1);
                _il.Emit(OpCodes.Conv_U8);
                _il.Emit(OpCodes.Ldc_I4_8);
                _il.Emit(OpCodes.Shl);
                _il.Emit(OpCodes.Ldloc, local);
                _il.Emit(OpCodes.Ldc_I8, unchecked((long)~0xFF00UL));
                _il.Emit(OpCodes.And);
                _il.Emit(OpCodes.Or);
                _il.Emit(OpCodes.Stloc, local);
                _dirty[slot] = true;
                return;
            }

            StoreGpr(slot, RegisterTable.Size[r]);
        }

        /// <summary>Pops a value into GPR slot <paramref name="slot"/> as a write of <paramref name="size"/> bytes (as <see cref="WriteGpr"/>).</summary>
        private void StoreGpr(int slot, int size)
        {
            var local = _reg[slot]!;
            switch (size)
            {
                case 8:
                    break;
                case 4:
                    Truncate(4);
                    break;
                default:
                    Truncate(size);
                    _il.Emit(OpCodes.Ldloc, local);
                    _il.Emit(OpCodes.Ldc_I8, unchecked((long)~SizeMask[size]));
                    _il.Emit(OpCodes.And);
                    _il.Emit(OpCodes.Or);
                    break;
            }

            _il.Emit(OpCodes.Stloc, local);
            _dirty[slot] = true;
        }

        /// <summary>Sign-extends the value of <paramref name="size"/> bytes on the stack to 64 bits (8: unchanged).</summary>
        private void SignExtend(int size)
        {
            switch (size)
            {
                case 1: _il.Emit(OpCodes.Conv_I1); _il.Emit(OpCodes.Conv_I8); break;
                case 2: _il.Emit(OpCodes.Conv_I2); _il.Emit(OpCodes.Conv_I8); break;
                case 4: _il.Emit(OpCodes.Conv_I4); _il.Emit(OpCodes.Conv_I8); break;
            }
        }

        /// <summary>MOVZX keeps the zero-extended source; MOVSX/MOVSXD sign-extend it (StoreRegister then truncates to the destination).</summary>
        private void ExtendSource(in Instruction ins, int size)
        {
            if (ins.Mnemonic != Mnemonic.Movzx)
            {
                SignExtend(size);
            }
        }

        /// <summary>Zero-extends the ulong on the stack from <paramref name="size"/> bytes.</summary>
        private void Truncate(int size)
        {
            switch (size)
            {
                case 1:
                    _il.Emit(OpCodes.Conv_U1);
                    _il.Emit(OpCodes.Conv_U8);
                    break;
                case 2:
                    _il.Emit(OpCodes.Conv_U2);
                    _il.Emit(OpCodes.Conv_U8);
                    break;
                case 4:
                    _il.Emit(OpCodes.Conv_U4);
                    _il.Emit(OpCodes.Conv_U8);
                    break;
            }
        }

        /// <summary>Before a call-out: the core sees exact registers, flags, counts, and where the instruction starts.</summary>
        private void BeginCallOut(ulong start, ulong next)
        {
            FlushState();
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldc_I8, (long)start);
            _il.Emit(OpCodes.Stfld, InstrStartField);
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldc_I8, (long)next);
            _il.Emit(OpCodes.Stfld, RipField);
        }

        /// <summary>
        /// After a call-out that did not end the block: leave at the next instruction when the batch ended (an exit
        /// request, which a trap handler may have made) or when the block's own page was written (self-modifying code).
        /// </summary>
        private void EndCallOut(ulong next)
        {
            var stop = _il.DefineLabel();
            var go = _il.DefineLabel();
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, BudgetField);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Ble, stop);

            // A trap handler (MMIO, port I/O) can write guest memory too, so every call-out checks the page.
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, CodeField);
            _il.Emit(OpCodes.Ldc_I4, _page);
            _il.Emit(OpCodes.Call, GenerationMethod);
            _il.Emit(OpCodes.Ldc_I4, _generation);
            _il.Emit(OpCodes.Beq, go);
            _il.MarkLabel(stop);
            EmitExit(next, TranslatedBlock.ExitOther);
            _il.MarkLabel(go);
        }

        /// <summary>Leaves the block at <paramref name="rip"/>; the code emitted after it (another path) keeps its pending count.</summary>
        private void EmitExit(ulong rip, int exit)
        {
            int pending = _pending;
            bool[] dirty = [.. _dirty];
            bool flagsDirty = _flagsDirty;
            FlushState();
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldc_I8, (long)rip);
            _il.Emit(OpCodes.Stfld, RipField);
            _il.Emit(OpCodes.Ldc_I4, exit);
            _il.Emit(OpCodes.Ret);
            _pending = pending;
            dirty.CopyTo(_dirty, 0);
            _flagsDirty = flagsDirty;
        }

        /// <summary>
        /// Writes the registers changed since the last write-back (on this path of the IL), the flags, and the pending
        /// instruction count back to the core.
        /// </summary>
        private void FlushState()
        {
            FlushRegisters();
            FlushCounts(_pending);
            _pending = 0;
        }

        /// <summary>Writes the registers changed since the last write-back (on this path of the IL) and the flags back to the core.</summary>
        private void FlushRegisters()
        {
            MaterializeLazyFlags();
            for (int r = 0; r < 16; r++)
            {
                if (_dirty[r])
                {
                    _dirty[r] = false;
                    _il.Emit(OpCodes.Ldarg_1);
                    _il.Emit(OpCodes.Ldfld, GprField);
                    _il.Emit(OpCodes.Ldc_I4, r);
                    _il.Emit(OpCodes.Ldloc, _reg[r]!);
                    _il.Emit(OpCodes.Stelem_I8);
                }
            }

            if (_flagsDirty)
            {
                _flagsDirty = false;
                _il.Emit(OpCodes.Ldarg_1);
                _il.Emit(OpCodes.Ldloc, _flags);
                _il.Emit(OpCodes.Stfld, FlagsField);
            }
        }

        private void FlushCounts(int count)
        {
            if (count == 0)
            {
                return;
            }

            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, RetiredField);
            _il.Emit(OpCodes.Ldc_I8, (long)count);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stfld, RetiredField);
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, BudgetField);
            _il.Emit(OpCodes.Ldc_I4, count);
            _il.Emit(OpCodes.Sub);
            _il.Emit(OpCodes.Stfld, BudgetField);
        }

        private void LoadCoreGpr(int slot)
        {
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, GprField);
            _il.Emit(OpCodes.Ldc_I4, slot);
            _il.Emit(OpCodes.Ldelem_I8);
        }

        /// <summary>Re-reads a GPR the core changed during a call-out (RSP after a push or pop).</summary>
        private void ReloadGpr(int slot)
        {
            LoadCoreGpr(slot);
            _il.Emit(OpCodes.Stloc, _reg[slot]!);
        }
    }
}
